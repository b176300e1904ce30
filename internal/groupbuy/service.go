package groupbuy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// Orders is what a group buy needs of the order capability: it prices a
// seat's order at the team's terms and stores it itself, in the seat's
// transaction.
type Orders interface {
	Prepare(ctx context.Context, in order.PlaceInput) (*order.Draft, error)
	PayFree(ctx context.Context, o *order.Order) (*order.Order, error)
	Release(ctx context.Context, id string) (*order.Order, error)
	Close(ctx context.Context, id, reason string) (*order.Order, error)
	Order(ctx context.Context, id string) (*order.Order, error)
}

// Refunds gives money back: in full for a failed team, the difference to
// the final tier for a succeeded one. Both are idempotent by key.
type Refunds interface {
	Refund(ctx context.Context, in refund.RefundInput) (*refund.Refund, error)
	Adjust(ctx context.Context, in refund.AdjustInput) (*refund.Refund, error)
}

// SKUs reads SKUs with their products (catalog.Store has it).
type SKUs interface {
	SKUs(ctx context.Context, ids []string) (map[string]catalog.SKUWithProduct, error)
}

// Service runs the group buy rules.
type Service struct {
	Store   Store
	Orders  Orders
	Refunds Refunds
	Catalog SKUs
	Clock   clock.Clock
	Log     *slog.Logger

	// terms caches published activities by id for joins and settlement:
	// once published, an activity's items, tiers, limits and windows never
	// change (only a draft is edited), so they need not be read again. Its
	// status and sold units may: nothing read from here decides on them.
	terms sync.Map
}

// Page sizes of the listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Create records a draft activity.
func (s *Service) Create(ctx context.Context, in ActivityInput) (*Activity, error) {
	skus, err := s.skus(ctx, in.Items)
	if err != nil {
		return nil, err
	}
	a, err := parseActivity(in, skus)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	a.ID, a.Status, a.CreatedAt, a.UpdatedAt = ids.New(), Draft, now, now
	if err := s.Store.CreateGroupBuy(ctx, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Update replaces a draft's terms. A published activity is not edited:
// what the reviewer approved is what runs.
func (s *Service) Update(ctx context.Context, id string, in ActivityInput) (*Activity, error) {
	if !ids.Valid(id) {
		return nil, ErrNotFound
	}
	skus, err := s.skus(ctx, in.Items)
	if err != nil {
		return nil, err
	}
	next, err := parseActivity(in, skus)
	if err != nil {
		return nil, err
	}
	return s.Store.UpdateGroupBuy(ctx, id, func(a *Activity) error {
		if a.Status != Draft {
			return ErrNotDraft
		}
		next.ID, next.Status, next.CreatedAt, next.UpdatedAt = a.ID, a.Status, a.CreatedAt, s.Clock.Now()
		*a = next
		return nil
	})
}

// Get is an operator's read of an activity.
func (s *Service) Get(ctx context.Context, id string) (*Activity, error) {
	if !ids.Valid(id) {
		return nil, ErrNotFound
	}
	return s.Store.GroupBuy(ctx, id)
}

// List lists activities newest first.
func (s *Service) List(ctx context.Context, f ActivityFilter) (ActivityPage, error) {
	f.Limit = pageLimit(f.Limit)
	return s.Store.GroupBuys(ctx, f)
}

// Checks runs the compliance checks on an activity as it stands, against
// its SKUs' sale prices now. An operator may read them at any time.
func (s *Service) Checks(ctx context.Context, id string) (compliance.Report, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return compliance.Report{}, err
	}
	sale, _, err := s.salePrices(ctx, a)
	if err != nil {
		return compliance.Report{}, err
	}
	return compliance.Lint(a.Facts(sale)), nil
}

// Publish puts a draft live once it passes every compliance check
// (refused with each failed check named) and its tiers are still below its
// SKUs' sale prices. The checks run on the activity as locked for the
// change, so an edit made meanwhile cannot slip through unchecked.
func (s *Service) Publish(ctx context.Context, id string) (*Activity, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	sale, skus, err := s.salePrices(ctx, a)
	if err != nil {
		return nil, err
	}
	return s.Store.UpdateGroupBuy(ctx, id, func(a *Activity) error {
		if a.Status != Draft {
			return ErrNotDraft
		}
		now := s.Clock.Now()
		if !now.Before(a.EndsAt) {
			return errs.Field("ends_at", "activity_over", "the activity's end has passed; set a later end first")
		}
		if _, err := parseActivity(a.input(), skus); err != nil {
			return err
		}
		if err := compliance.Lint(a.Facts(sale)).Err(); err != nil {
			return err
		}
		a.Status, a.PublishedAt, a.UpdatedAt = Published, &now, now
		return nil
	})
}

// End stops new teams; teams already open run to their own deadline.
// Ending an ended activity changes nothing.
func (s *Service) End(ctx context.Context, id string) (*Activity, error) {
	if !ids.Valid(id) {
		return nil, ErrNotFound
	}
	return s.Store.UpdateGroupBuy(ctx, id, func(a *Activity) error {
		if a.Status == Ended {
			return nil
		}
		now := s.Clock.Now()
		a.Status, a.EndedAt, a.UpdatedAt = Ended, &now, now
		return nil
	})
}

// Published is a buyer's read of an activity: a draft is not found.
func (s *Service) Published(ctx context.Context, id string) (*Activity, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status == Draft {
		return nil, ErrNotFound
	}
	return a, nil
}

// Teams lists an activity's teams (an operator's view).
func (s *Service) Teams(ctx context.Context, f TeamFilter) (TeamPage, error) {
	if !ids.Valid(f.ActivityID) {
		return TeamPage{}, ErrNotFound
	}
	if _, err := s.Store.GroupBuy(ctx, f.ActivityID); err != nil {
		return TeamPage{}, err
	}
	f.Limit = pageLimit(f.Limit)
	return s.Store.Teams(ctx, f)
}

// JoinableTeams lists a published activity's teams a buyer may join now,
// with the activity.
func (s *Service) JoinableTeams(ctx context.Context, activityID, cursor string, limit int) (*Activity, TeamPage, error) {
	a, err := s.Published(ctx, activityID)
	if err != nil {
		return nil, TeamPage{}, err
	}
	page, err := s.Store.Teams(ctx, TeamFilter{ActivityID: activityID, Joinable: true, Now: s.Clock.Now(),
		Cursor: cursor, Limit: pageLimit(limit)})
	return a, page, err
}

// TeamInfo is a team with what is needed to show it: its activity (for
// the tiers) and its seats.
type TeamInfo struct {
	Team     *Team
	Activity *Activity
	Seats    []Seat
}

// Team reads a team with its activity and seats.
func (s *Service) Team(ctx context.Context, id string) (*TeamInfo, error) {
	if !ids.Valid(id) {
		return nil, ErrTeamNotFound
	}
	t, err := s.Store.Team(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := s.Store.GroupBuy(ctx, t.ActivityID)
	if err != nil {
		return nil, err
	}
	seats, err := s.Store.TeamSeats(ctx, id)
	if err != nil {
		return nil, err
	}
	return &TeamInfo{Team: t, Activity: a, Seats: seats}, nil
}

// OpenInput is a buyer opening a team: the item's SKU, the units, and
// where the goods go.
type OpenInput struct {
	BuyerID    string
	ActivityID string
	SKUID      string
	Qty        int
	AddressID  string
	Remark     string
}

// Open opens a team with the buyer as its leader. The team stays pending,
// not joinable, until the leader's order is paid; the order is held from
// shipping until the team succeeds.
func (s *Service) Open(ctx context.Context, in OpenInput) (*Team, *order.Order, error) {
	a, err := s.Published(ctx, in.ActivityID)
	if err != nil {
		return nil, nil, err
	}
	now := s.Clock.Now()
	if !a.Live(now) {
		return nil, nil, ErrNotLive
	}
	it, ok := a.Item(in.SKUID)
	if !ok {
		return nil, nil, ErrSKUNotInActivity
	}
	if in.Qty > a.PerBuyerLimit {
		return nil, nil, ErrBuyerLimit
	}
	t := &Team{ID: ids.New(), ActivityID: a.ID, SKUID: it.SKUID, LeaderID: in.BuyerID, Status: TeamPending,
		Capacity: a.TeamSize, Taken: 1, CreatedAt: now, UpdatedAt: now}
	price := a.LeaderEntry(it)
	// The leader has until the activity's end to pay: a team opened
	// after it could not run.
	d, err := s.Orders.Prepare(ctx, s.placeInput(in.BuyerID, t, it.SKUID, in.Qty, in.AddressID, in.Remark, price, a.EndsAt))
	if err != nil {
		return nil, nil, err
	}
	seat := newSeat(t, in.BuyerID, d.Order, true, in.Qty, price, now)
	c := Claim{ActivityID: a.ID, SKUID: it.SKUID, BuyerID: in.BuyerID, Qty: in.Qty, BuyerLimit: a.PerBuyerLimit}
	if err := s.Store.OpenTeam(ctx, t, seat, c, d); err != nil {
		return nil, nil, order.PlaceError(err)
	}
	o, err := s.Orders.PayFree(ctx, d.Order)
	return t, o, err
}

// JoinInput is a buyer joining a team through its share link.
type JoinInput struct {
	BuyerID   string
	TeamID    string
	Qty       int
	AddressID string
	Remark    string
}

// joinTries bounds how often a join is priced again because the team's
// size moved past its tier meanwhile (another member joined or left).
const joinTries = 5

// Join takes a seat of an open team and returns the team as the join left
// it. The member pays the tier of the size the team reaches with them;
// should the team end at a better tier, the difference comes back when it
// succeeds. The seat's order must be paid by the team's deadline.
func (s *Service) Join(ctx context.Context, in JoinInput) (*Team, *order.Order, error) {
	if !ids.Valid(in.TeamID) {
		return nil, nil, ErrTeamNotFound
	}
	for range joinTries {
		t, o, err := s.join(ctx, in)
		if !errors.Is(err, ErrSizeMoved) {
			return t, o, err
		}
	}
	return nil, nil, ErrTeamBusy
}

func (s *Service) join(ctx context.Context, in JoinInput) (*Team, *order.Order, error) {
	t, err := s.Store.Team(ctx, in.TeamID)
	if err != nil {
		return nil, nil, err
	}
	now := s.Clock.Now()
	if err := t.Joinable(now); err != nil {
		return nil, nil, err
	}
	a, err := s.published(ctx, t.ActivityID)
	if err != nil {
		return nil, nil, err
	}
	it, ok := a.Item(t.SKUID)
	if !ok {
		return nil, nil, errs.Wrap(errors.New("the team's SKU is not an item of its activity"), "groupbuy: team %s", t.ID)
	}
	if in.Qty > a.PerBuyerLimit {
		return nil, nil, ErrBuyerLimit
	}
	size := t.Taken + 1
	price := TierPrice(it.Tiers, size)
	lo, hi := SizeRange(it.Tiers, t.Capacity, size)
	d, err := s.Orders.Prepare(ctx, s.placeInput(in.BuyerID, t, it.SKUID, in.Qty, in.AddressID, in.Remark, price, *t.ExpiresAt))
	if err != nil {
		return nil, nil, err
	}
	seat := newSeat(t, in.BuyerID, d.Order, false, in.Qty, price, now)
	j := Join{Claim: Claim{ActivityID: a.ID, SKUID: it.SKUID, BuyerID: in.BuyerID, Qty: in.Qty, BuyerLimit: a.PerBuyerLimit},
		TeamID: t.ID, Now: now, MinSize: lo, MaxSize: hi}
	if err := s.Store.JoinTeam(ctx, seat, j, d); err != nil {
		if errors.Is(err, ErrSizeMoved) {
			return nil, nil, ErrSizeMoved
		}
		return nil, nil, order.PlaceError(err)
	}
	o, err := s.Orders.PayFree(ctx, d.Order)
	if err != nil {
		return nil, nil, err
	}
	// The team as this join left it; others may have joined since.
	t.Taken, t.UpdatedAt = t.Taken+1, now
	return t, o, nil
}

// placeInput is the order of a seat: a direct buy of the item at the
// team's price, naming the team, held until the team succeeds, and to be
// paid by payBy.
func (s *Service) placeInput(buyerID string, t *Team, skuID string, qty int, addressID, remark string, price money.Fen, payBy time.Time) order.PlaceInput {
	return order.PlaceInput{
		BuyerID: buyerID, Lines: []order.LineInput{{SKUID: skuID, Qty: qty}}, AddressID: addressID, Remark: remark,
		Offer: &order.Offer{
			Activity: order.Activity{Kind: order.ActivityGroupBuy, ID: t.ActivityID, Ref: t.ID},
			Prices:   map[string]money.Fen{skuID: price}, PayBy: payBy, Hold: true,
		},
	}
}

func newSeat(t *Team, buyerID string, o *order.Order, leader bool, qty int, price money.Fen, now time.Time) *Seat {
	var amount money.Fen
	for _, l := range o.Lines {
		amount += l.Amount
	}
	return &Seat{ID: ids.New(), TeamID: t.ID, ActivityID: t.ActivityID, BuyerID: buyerID, OrderID: o.ID,
		Leader: leader, Qty: qty, UnitPrice: price, Amount: amount, State: SeatReserved, JoinedAt: now}
}

// published returns an activity that has been published (and maybe
// ended) for what never changes after publishing: its terms. A draft is
// read afresh every time and not cached.
func (s *Service) published(ctx context.Context, id string) (*Activity, error) {
	if a, ok := s.terms.Load(id); ok {
		return a.(*Activity), nil
	}
	a, err := s.Store.GroupBuy(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != Draft {
		s.terms.Store(id, a)
	}
	return a, nil
}

// skus reads the catalogue's SKUs of the items that name a well-formed id.
func (s *Service) skus(ctx context.Context, items []ItemInput) (map[string]catalog.SKUWithProduct, error) {
	var want []string
	for _, it := range items {
		if ids.Valid(it.SKUID) {
			want = append(want, it.SKUID)
		}
	}
	if len(want) == 0 {
		return map[string]catalog.SKUWithProduct{}, nil
	}
	return s.Catalog.SKUs(ctx, want)
}

// salePrices are the current sale prices of an activity's SKUs.
func (s *Service) salePrices(ctx context.Context, a *Activity) (map[string]money.Fen, map[string]catalog.SKUWithProduct, error) {
	skus, err := s.skus(ctx, a.input().Items)
	if err != nil {
		return nil, nil, err
	}
	sale := make(map[string]money.Fen, len(skus))
	for id, sp := range skus {
		sale[id] = sp.SKU.SalePrice
	}
	return sale, skus, nil
}

// input is the activity's terms as a form would state them.
func (a *Activity) input() ActivityInput {
	in := ActivityInput{Title: a.Title, Rules: a.Rules, ShareNotice: a.ShareNotice, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
		TeamSize: a.TeamSize, TeamHours: a.TeamHours, PerBuyerLimit: a.PerBuyerLimit, SuccessThreshold: a.SuccessThreshold,
		MaxDepth: a.MaxDepth, Leader: a.Leader}
	for _, it := range a.Items {
		in.Items = append(in.Items, ItemInput{SKUID: it.SKUID, Quota: it.Quota, Tiers: it.Tiers})
	}
	return in
}

func pageLimit(n int) int { return page.Size(n, DefaultLimit, MaxLimit) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}
