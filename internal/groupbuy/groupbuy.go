// Package groupbuy owns group buys (拼团): an operator's activity (SKUs with
// price tiers by team size, a leader benefit, the team and activity
// windows, a stock quota per SKU, a per-buyer limit, an optional success
// threshold), the teams buyers open and join through share links, and
// their settlement.
//
// A seat is a real buyer with a real order: the seat, the buyer's units,
// the activity's quota and the order (with its stock) are claimed in one
// transaction, so a team never holds more seats than its size and the
// quota is never exceeded, however many buyers race. DOMAIN.md's "no fake
// teams": a team that does not fill in time is failed and every paid
// member is refunded in full, exactly once, or, with a success threshold
// set, succeeds at the tier it reached. No member and no order is ever
// invented to fill a team.
//
// The money moves outside the team's transaction: ending a team writes a
// durable job per seat (refund in full, or give back the difference to the
// final tier and release the order for shipping), and each job calls the
// refund service with a key of its own, so a retried or repeated job pays
// back once.
package groupbuy

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Status is where an activity is in its life.
type Status string

const (
	Draft     Status = "draft"     // being set up; the only state that may be edited
	Published Status = "published" // passed the compliance checks; live between its start and end
	Ended     Status = "ended"     // ended by an operator: no new teams; open teams run to their deadline
)

// LeaderKind is the benefit a team's leader gets when the team succeeds.
type LeaderKind string

const (
	LeaderNone  LeaderKind = "none"  // the leader pays the team's tier, like everyone
	LeaderPrice LeaderKind = "price" // the leader pays Leader.Price
	LeaderFree  LeaderKind = "free"  // 团长免单: the leader's goods are free (shipping is still paid)
)

// Leader is the leader benefit, funded as a discount on the leader's own
// order: the leader pays it at once (price), or gets the goods' price back
// when the team succeeds (free), through the refund path and the ledger.
type Leader struct {
	Kind  LeaderKind `json:"kind"`
	Price money.Fen  `json:"price,omitempty"`
}

// Tier is the unit price of a team of Size members.
type Tier struct {
	Size  int       `json:"size"`
	Price money.Fen `json:"price"`
}

// Item is one SKU of an activity: its quota of units for the whole
// activity, the units its live seats hold (Sold), and its tiers, sorted by
// size, the last of size TeamSize.
type Item struct {
	SKUID string `json:"sku_id"`
	Quota int64  `json:"quota"`
	Sold  int64  `json:"sold"`
	Tiers []Tier `json:"tiers"`
}

// Activity is one group buy.
type Activity struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Rules       string    `json:"rules"`
	ShareNotice string    `json:"share_notice"`
	Status      Status    `json:"status"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	TeamSize    int       `json:"team_size"`
	TeamHours   int       `json:"team_hours"`
	// PerBuyerLimit is the units one buyer may hold over the activity.
	PerBuyerLimit int `json:"per_buyer_limit"`
	// SuccessThreshold, if not 0, is the paid members with which a team
	// whose time runs out still succeeds, at the tier of its paid size.
	SuccessThreshold int        `json:"success_threshold"`
	MaxDepth         int        `json:"max_depth"`
	Leader           Leader     `json:"leader"`
	Items            []Item     `json:"items"`
	PublishedAt      *time.Time `json:"published_at,omitempty"`
	EndedAt          *time.Time `json:"ended_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Item returns the activity's item of a SKU.
func (a *Activity) Item(skuID string) (*Item, bool) {
	for i := range a.Items {
		if a.Items[i].SKUID == skuID {
			return &a.Items[i], true
		}
	}
	return nil, false
}

// Live reports whether teams may be opened at now.
func (a *Activity) Live(now time.Time) bool {
	return a.Status == Published && !now.Before(a.StartsAt) && now.Before(a.EndsAt)
}

// TeamStatus is where a team is in its life.
type TeamStatus string

const (
	TeamPending   TeamStatus = "pending"   // the leader has not paid: not joinable yet
	TeamOpen      TeamStatus = "open"      // the leader paid: joinable until it fills or its time runs out
	TeamSucceeded TeamStatus = "succeeded" // filled, or reached the threshold in time
	TeamFailed    TeamStatus = "failed"    // its time ran out: every paid member is refunded
	TeamCancelled TeamStatus = "cancelled" // the leader's order closed unpaid
)

// TeamStatuses lists every team status.
var TeamStatuses = []TeamStatus{TeamPending, TeamOpen, TeamSucceeded, TeamFailed, TeamCancelled}

// Ended reports whether the team has its result.
func (s TeamStatus) Ended() bool { return s == TeamSucceeded || s == TeamFailed || s == TeamCancelled }

// Team is one team of an activity, on one SKU.
type Team struct {
	ID         string     `json:"id"`
	ActivityID string     `json:"activity_id"`
	SKUID      string     `json:"sku_id"`
	LeaderID   string     `json:"leader_id"`
	Status     TeamStatus `json:"status"`
	Capacity   int        `json:"capacity"` // the activity's team size
	Taken      int        `json:"taken"`    // live seats: reserved and paid
	Paid       int        `json:"paid"`     // paid seats
	// ExpiresAt is set when the team opens: the leader's payment plus the
	// team window, and never past the activity's end.
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	FinalSize  int        `json:"final_size,omitempty"`  // succeeded: the paid size it ended at
	FinalPrice money.Fen  `json:"final_price,omitempty"` // succeeded: that size's tier price
	OpenedAt   *time.Time `json:"opened_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// SeatState is where a seat is in its life.
type SeatState string

const (
	SeatReserved SeatState = "reserved" // its order awaits payment
	SeatPaid     SeatState = "paid"
	SeatReleased SeatState = "released" // its order closed or was cancelled unpaid
	SeatRefunded SeatState = "refunded" // paid, and refunded in full (the team failed, or ended before the payment)
)

// Live reports whether the seat counts in its team and holds its units.
func (s SeatState) Live() bool { return s == SeatReserved || s == SeatPaid }

// Seat is one buyer's place in a team, with the order that pays for it.
type Seat struct {
	ID         string `json:"id"`
	TeamID     string `json:"team_id"`
	ActivityID string `json:"activity_id"`
	BuyerID    string `json:"buyer_id"`
	OrderID    string `json:"order_id"`
	Leader     bool   `json:"leader"`
	Qty        int    `json:"qty"`
	// UnitPrice is the unit price the seat was offered; Amount what the
	// order charges for its goods (shipping apart), which the settlement
	// compares with the final tier.
	UnitPrice money.Fen  `json:"unit_price"`
	Amount    money.Fen  `json:"amount"`
	State     SeatState  `json:"state"`
	JoinedAt  time.Time  `json:"joined_at"`
	PaidAt    *time.Time `json:"paid_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// ActivityFilter selects activities.
type ActivityFilter struct {
	Status Status
	Cursor string
	Limit  int
}

// ActivityPage is a page of activities, newest first.
type ActivityPage struct {
	Activities []Activity `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// TeamFilter selects teams of an activity.
type TeamFilter struct {
	ActivityID string
	Status     TeamStatus
	// Joinable keeps only teams open, with a seat left, whose time has not
	// run out at Now.
	Joinable bool
	Now      time.Time
	Cursor   string
	Limit    int
}

// TeamPage is a page of teams, newest first.
type TeamPage struct {
	Teams      []Team `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Claim is what opening or joining a team claims beside its seat: Qty
// units of the buyer's limit over the activity, and of the item's quota.
type Claim struct {
	ActivityID string
	SKUID      string
	BuyerID    string
	Qty        int
	BuyerLimit int
}

// Join is a claim of a seat in an open team. The seat is granted only if
// the team is open at Now with a seat left and the team's size with the
// seat is within [MinSize, MaxSize]: the sizes whose tier is the price the
// order was made at.
type Join struct {
	Claim
	TeamID           string
	Now              time.Time
	MinSize, MaxSize int
}

// TeamChange is what UpdateTeam writes beside the team and its seats.
type TeamChange struct {
	Events []outbox.Event
	Jobs   []jobs.Job
}

// Store keeps activities, teams and seats.
type Store interface {
	// CreateGroupBuy inserts an activity and its items.
	CreateGroupBuy(ctx context.Context, a *Activity) error
	// GroupBuy returns an activity with its items; ErrNotFound if absent.
	GroupBuy(ctx context.Context, id string) (*Activity, error)
	// GroupBuys lists activities newest first.
	GroupBuys(ctx context.Context, f ActivityFilter) (ActivityPage, error)
	// UpdateGroupBuy locks the activity, lets fn change it and saves it in
	// one transaction; nothing is written if fn fails. Its items are saved
	// (replaced) only while it is a draft after fn: a draft has no seats, so
	// nothing of its items is sold, and a published activity's items change
	// only through seats.
	UpdateGroupBuy(ctx context.Context, id string, fn func(a *Activity) error) (*Activity, error)
	// OpenTeam, in one transaction: inserts the team and its leader's seat,
	// adds c.Qty to the buyer's units unless that passes c.BuyerLimit
	// (ErrBuyerLimit), stores the order draft (inventory.OutOfStock when
	// short), and adds c.Qty to the item's sold unless that passes its
	// quota (ErrQuotaExhausted). On any failure nothing is written.
	OpenTeam(ctx context.Context, t *Team, s *Seat, c Claim, d *order.Draft) error
	// JoinTeam, in one transaction: takes a seat of the team with a
	// conditional update (Join's conditions; a refusal is the error
	// Team.Joinable gives, or ErrSizeMoved when only the size range
	// failed), inserts the seat (ErrAlreadyInTeam when the buyer holds a
	// live seat of the team), and claims the units, the order and the
	// quota as OpenTeam does.
	JoinTeam(ctx context.Context, s *Seat, j Join, d *order.Draft) error
	// Team returns a team; ErrTeamNotFound if absent.
	Team(ctx context.Context, id string) (*Team, error)
	// TeamSeats returns a team's seats in the order they were taken.
	TeamSeats(ctx context.Context, teamID string) ([]Seat, error)
	// Teams lists teams of an activity newest first.
	Teams(ctx context.Context, f TeamFilter) (TeamPage, error)
	// SeatByOrder returns the seat an order pays for; ErrSeatNotFound if none.
	SeatByOrder(ctx context.Context, orderID string) (*Seat, error)
	// UpdateTeam locks the team, reads its seats, lets fn change them in
	// place, and saves the team, every seat fn changed, and the events and
	// jobs fn returns, in one transaction. A seat that leaves the live
	// states gives its units back to its item's sold and to its buyer's
	// units. If fn fails nothing is written; ErrNoop writes nothing and is
	// not an error. Two updates of one team are serialised.
	UpdateTeam(ctx context.Context, id string, fn func(t *Team, seats []Seat) (TeamChange, error)) (*Team, error)
}
