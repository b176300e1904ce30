// Package bargain owns bargains (砍价): a buyer opens a bargain on an item of
// an activity and friends help cut its price, each cut a known amount, down
// to a floor that may be 0, within a window of 8 to 12 hours (DOMAIN.md,
// "Social fission").
//
// DOMAIN.md's line on bargain fairness is built in, not configured: the cut
// schedule is deterministic (Schedule: no randomness, no bigger cut for a
// new account) and fixed when the bargain opens, shown with the activity
// before anyone shares it, and the activity cannot be published unless the
// compliance lint (package compliance) passes with that schedule disclosed.
// Helpers are checked for abuse (fraud.go): cuts from suspicious patterns are
// held for an operator instead of applied, and nothing here rewards the act
// of sharing (package share records who brought whom; a helper's reward is
// for the help itself).
//
// A bargain's order is an ordinary order priced by an order.Offer; the
// store creates it in the transaction that records it on the bargain and
// claims the activity's quota, so a bargain never has two live orders and
// the quota is never overrun.
package bargain

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// ActivityStatus is where an activity stands: only a draft is edited, only a
// published activity opens bargains.
type ActivityStatus string

const (
	Draft     ActivityStatus = "draft"
	Published ActivityStatus = "published"
	Ended     ActivityStatus = "ended"
)

// ActivityStatuses lists every activity status.
var ActivityStatuses = []ActivityStatus{Draft, Published, Ended}

// Status is where a bargain stands.
type Status string

const (
	Open      Status = "open"      // helpers may cut
	Succeeded Status = "succeeded" // the floor is reached
	Expired   Status = "expired"   // the window ended first
)

// Statuses lists every bargain status.
var Statuses = []Status{Open, Succeeded, Expired}

// HelpStatus is what became of a help.
type HelpStatus string

const (
	Applied  HelpStatus = "applied"  // its cut took a slot of the schedule
	Held     HelpStatus = "held"     // recorded, flagged, its cut waits for an operator
	Rejected HelpStatus = "rejected" // an operator refused a held help
)

// HelpStatuses lists every help status.
var HelpStatuses = []HelpStatus{Applied, Held, Rejected}

// Reward is what a helper gets for a help whose cut is applied: it is
// carried by the bargain.helped event and measured by the compliance lint (at
// most 30% of the regular price). A reward may name a recall coupon template:
// each applied help then issues the helper one coupon of it, best effort (a
// template run out gives none, and the help stands; see RegisterConsumers).
type Reward struct {
	// Value is what the lint measures: as given, or the most a coupon of
	// the template saves (RewardCoupon.MaxSaving) when none is given.
	Value       money.Fen `json:"value"`
	Description string    `json:"description"`
	// CouponTemplateID names a coupon template of issue mode recall; ""
	// for a reward with no coupon.
	CouponTemplateID string `json:"coupon_template_id,omitempty"`
}

// Activity is an operator's bargain activity on one SKU.
type Activity struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Rules       string         `json:"rules"`
	ShareNotice string         `json:"share_notice"`
	Status      ActivityStatus `json:"status"`
	StartsAt    time.Time      `json:"starts_at"`
	EndsAt      time.Time      `json:"ends_at"`
	SKUID       string         `json:"sku_id"`
	// FromPrice is where bargaining starts (at most the SKU's list price),
	// FloorPrice where it ends (0 allowed).
	FromPrice  money.Fen `json:"from_price"`
	FloorPrice money.Fen `json:"floor_price"`
	// Helpers is how many helps take the price to the floor: the number of
	// cuts in the schedule.
	Helpers      int     `json:"helpers"`
	BargainHours int     `json:"bargain_hours"`
	Reward       *Reward `json:"reward,omitempty"`
	// BuyAtCurrent lets the initiator buy at the price reached before the
	// floor, and after the bargain expired.
	BuyAtCurrent bool `json:"buy_at_current"`
	// PayHours is how long the initiator may order at the reached price
	// once the bargain succeeded (or expired, with BuyAtCurrent).
	PayHours int `json:"pay_hours"`
	// Quota is how many units the activity sells; Sold how many live or
	// paid orders hold (an order closed unpaid gives its unit back).
	Quota         int        `json:"quota"`
	Sold          int        `json:"sold"`
	PerBuyerLimit int        `json:"per_buyer_limit"`
	ShowSchedule  bool       `json:"show_schedule"`
	MaxDepth      int        `json:"max_depth"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	PublishedAt   *time.Time `json:"published_at,omitempty"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
}

// Preview is the schedule every bargain of the activity gets, shown before
// anyone opens one.
func (a *Activity) Preview() []money.Fen { return Schedule(a.FromPrice, a.FloorPrice, a.Helpers) }

// rewardValue is the reward of one help, 0 without one.
func (a *Activity) rewardValue() money.Fen {
	if a.Reward == nil {
		return 0
	}
	return a.Reward.Value
}

// Bargain is one buyer's bargain. Its schedule and terms are copied from the
// activity when it opens and never change.
type Bargain struct {
	ID          string      `json:"id"`
	ActivityID  string      `json:"activity_id"`
	InitiatorID string      `json:"initiator_id"`
	SKUID       string      `json:"sku_id"`
	From        money.Fen   `json:"from_price"`
	Floor       money.Fen   `json:"floor_price"`
	Schedule    []money.Fen `json:"schedule"`
	// Cuts is how many slots of the schedule are taken; Price is From less
	// those cuts.
	Cuts         int       `json:"cuts_applied"`
	Price        money.Fen `json:"price"`
	Status       Status    `json:"status"`
	BuyAtCurrent bool      `json:"buy_at_current"`
	PayHours     int       `json:"pay_hours"`
	Reward       *Reward   `json:"reward,omitempty"`
	// OrderID is the bargain's live (or paid) order; empty when it has none.
	OrderID     string     `json:"order_id,omitempty"`
	ExpiresAt   time.Time  `json:"expires_at"`
	OrderBy     *time.Time `json:"order_by,omitempty"`
	SucceededAt *time.Time `json:"succeeded_at,omitempty"`
	ExpiredAt   *time.Time `json:"expired_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Help is one friend's help on a bargain.
type Help struct {
	ID        string `json:"id"`
	BargainID string `json:"bargain_id"`
	HelperID  string `json:"helper_id"`
	// HelperSince is when the helper's account was made: the new-account
	// checks read it from here, as it was when they helped.
	HelperSince time.Time `json:"helper_since"`
	DeviceID    string    `json:"device_id"`
	IP          string    `json:"ip"`
	// Slot is the schedule index the cut took; nil unless applied.
	Slot      *int       `json:"slot,omitempty"`
	Amount    money.Fen  `json:"amount"`
	Status    HelpStatus `json:"status"`
	Reasons   []string   `json:"reasons"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
}

// ActivityFilter selects activities, newest first.
type ActivityFilter struct {
	Status ActivityStatus
	Cursor string
	Limit  int
}

// ActivityPage is a page of activities.
type ActivityPage struct {
	Activities []Activity `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// BargainFilter selects bargains, newest first.
type BargainFilter struct {
	ActivityID string
	Status     Status
	Cursor     string
	Limit      int
}

// BargainPage is a page of bargains.
type BargainPage struct {
	Bargains   []Bargain `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// HelpFilter selects helps, newest first.
type HelpFilter struct {
	Status    HelpStatus
	BargainID string
	Cursor    string
	Limit     int
}

// HelpPage is a page of helps.
type HelpPage struct {
	Helps      []Help `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Change is what a change of a bargain writes besides the bargain.
type Change struct {
	Events []outbox.Event
	Jobs   []jobs.Job
}

// HelpQuery is what a store counts for the help rules, in the transaction
// that holds the bargain and the helper.
type HelpQuery struct {
	BargainID, HelperID, DeviceID, IP string
	// DayStart begins the helper's day (the daily cap: helps at or after
	// it count); the rate limits count helps after RateSince, the device
	// checks helps after WatchSince; accounts made after NewSince are new.
	DayStart, RateSince, WatchSince, NewSince time.Time
}

// HelpFacts is what the store read for the rules, with the bargain locked
// and the helper's helps serialised.
type HelpFacts struct {
	// Existing is the helper's earlier help on this bargain, if any.
	Existing *Help
	// HelperToday counts the helper's helps since DayStart.
	HelperToday int
	// HelperRecent, DeviceRecent and IPRecent count helps since RateSince.
	HelperRecent, DeviceRecent, IPRecent int
	// DeviceBargains counts the distinct other bargains the device helped,
	// DeviceHelpers the distinct other helpers who used it, since
	// WatchSince.
	DeviceBargains, DeviceHelpers int
	// Helps are the bargain's helps by new accounts (made after
	// NewSince), oldest first, for the new-account cluster.
	Helps []Help
}

// HelpChange is what a help rule decided: the help to answer with, whether
// it is new (insert) or changed (update), whether the bargain changed, and
// the events to write.
type HelpChange struct {
	Help    *Help
	Insert  bool
	Update  bool
	Bargain bool
	Events  []outbox.Event
}

// Store keeps bargain activities, bargains and helps. Every method that
// changes a bargain holds its row for the whole transaction, so the helps of
// one bargain, its expiry and its order are applied one at a time.
type Store interface {
	// CreateBargainActivity inserts a draft.
	CreateBargainActivity(ctx context.Context, a *Activity) error
	// BargainActivity reads one; ErrActivityNotFound if absent.
	BargainActivity(ctx context.Context, id string) (*Activity, error)
	// UpdateBargainActivity locks the activity, lets fn change it and saves
	// it; an error from fn changes nothing.
	UpdateBargainActivity(ctx context.Context, id string, fn func(a *Activity) error) (*Activity, error)
	// BargainActivities lists a page, newest first.
	BargainActivities(ctx context.Context, f ActivityFilter) (ActivityPage, error)

	// OpenBargain inserts b with its events and jobs, serialised per
	// initiator and activity: if the initiator has an open bargain on the
	// activity it is returned instead (opened false); if they opened limit
	// bargains already, ErrLimitReached; if the activity is not published,
	// ErrActivityNotOpen.
	OpenBargain(ctx context.Context, b *Bargain, limit int, ev []outbox.Event, js []jobs.Job) (got *Bargain, opened bool, err error)
	// Bargain reads one; ErrNotFound if absent.
	Bargain(ctx context.Context, id string) (*Bargain, error)
	// Bargains lists a page, newest first.
	Bargains(ctx context.Context, f BargainFilter) (BargainPage, error)
	// UpdateBargain locks the bargain, lets fn change it and saves it with
	// the change's events and jobs; ErrNoop from fn writes nothing and
	// returns the bargain as it is.
	UpdateBargain(ctx context.Context, id string, fn func(b *Bargain) (Change, error)) (*Bargain, error)
	// HelpBargain serialises the helper's helps (their daily cap holds
	// across bargains) and locks the bargain, reads the facts q asks for,
	// lets decide rule, and writes what it decided. The help answered is
	// the change's (new, or the helper's earlier one).
	HelpBargain(ctx context.Context, q HelpQuery, decide func(b *Bargain, f HelpFacts) (HelpChange, error)) (*Help, *Bargain, error)
	// DecideBargainHelp locks a help's bargain and then the help, lets
	// decide rule, and writes what it decided; ErrHelpNotFound if absent.
	DecideBargainHelp(ctx context.Context, helpID string, decide func(h *Help, b *Bargain) (HelpChange, error)) (*Help, *Bargain, error)
	// BargainHelps lists a page of helps, newest first.
	BargainHelps(ctx context.Context, f HelpFilter) (HelpPage, error)
	// OrderBargain locks the bargain, lets check refuse, and then in the
	// same transaction records the draft's order on it, claims one unit of
	// the activity's quota (ErrSoldOut if none is left) and creates the
	// order (its stock reserved: inventory.OutOfStock if short).
	OrderBargain(ctx context.Context, bargainID string, d *order.Draft, check func(b *Bargain) error) (*Bargain, error)
	// FreeBargainOrder forgets orderID as the bargain's order and gives
	// its unit of quota back, if it is still the bargain's order; it
	// reports whether it did.
	FreeBargainOrder(ctx context.Context, bargainID, orderID string, at time.Time) (bool, error)
}
