package order

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Addresses gives the ship-to of one of a buyer's addresses; another buyer's
// address is not found.
type Addresses interface {
	ShipTo(ctx context.Context, buyerID, addressID string) (ShipTo, error)
}

// Config holds the order rules that are the operator's to set.
type Config struct {
	PayWindow   time.Duration // unpaid orders close after it; default 15 minutes
	AutoConfirm time.Duration // receipt confirms itself this long after shipping; default 7 days
}

// DefaultConfig is DOMAIN.md's defaults.
var DefaultConfig = Config{PayWindow: 15 * time.Minute, AutoConfirm: 7 * 24 * time.Hour}

// Service runs the order rules.
type Service struct {
	Store     Store
	Catalog   catalog.Store
	Carts     cart.Store
	Addresses Addresses
	Pricing   *pricing.Pipeline
	Coupons   Coupons // nil: no coupon is accepted
	Points    Points  // nil: no points are accepted
	Members   Members // nil: no member tier benefits
	Clock     clock.Clock
	Config    Config

	// BeforeClose, if set, runs before an unpaid order is closed (by its
	// pay-window job or an operator) and must settle whatever payment the
	// order has at the platform: a buyer may be paying at this very moment,
	// and the reserved stock may only come back once no money can arrive
	// for it. An error leaves the order as it is (the close job retries).
	BeforeClose func(ctx context.Context, orderID string) error
}

// Coupons checks the coupons a buyer names at checkout and stores an order
// that uses them: the coupons are marked used in the order's own
// transaction, so a coupon is never used by two orders.
type Coupons interface {
	// Terms resolves the buyer's coupons for the order's SKUs into what the
	// pricing pipeline applies; another buyer's coupon is not found.
	Terms(ctx context.Context, buyerID string, ids []string, skus map[string]catalog.SKUWithProduct) ([]pricing.Coupon, error)
	// CreateOrder stores d with its coupons marked used.
	CreateOrder(ctx context.Context, d *Draft) error
}

// Points resolves the points a buyer spends at checkout and stores an
// order that spends them: the points leave the buyer's lots in the order's
// own transaction, so two checkouts cannot spend the same points.
type Points interface {
	// Terms checks the buyer holds n points and gives the pricing step's
	// terms (the point's value, the cap).
	Terms(ctx context.Context, buyerID string, n int64) (*pricing.Points, error)
	// CreateOrder stores d with d.Points taken from the buyer's lots.
	CreateOrder(ctx context.Context, d *Draft) error
}

// Members gives the buyer's member tier benefits for an order of skus (nil:
// none), priced by the pipeline's member step.
type Members interface {
	Benefits(ctx context.Context, buyerID string, skus map[string]catalog.SKUWithProduct) (*pricing.Member, error)
}

// CouponUse is a coupon an order uses and what it saved.
type CouponUse struct {
	ID    string
	Saved money.Fen
}

// LineInput is a SKU and quantity a buyer asks for.
type LineInput struct {
	SKUID string
	Qty   int
}

// PlaceInput is a buyer's order request. Either Lines (a direct buy) or
// FromCart (the whole cart, or the SKUIDs of it) is set. Prices are never
// part of it: the server prices every order.
type PlaceInput struct {
	BuyerID   string
	Lines     []LineInput
	FromCart  bool
	SKUIDs    []string
	AddressID string
	Remark    string
	// Offer, set only by an activity's service, prices the lines at the
	// activity's terms. It needs a direct buy.
	Offer *Offer
	// CouponIDs are coupons of the buyer's to apply; the coupon service
	// checks them, nothing about them is taken from the client.
	CouponIDs []string
	// Points is how many of the buyer's points to spend; the points step
	// spends fewer when the order's cap allows fewer.
	Points int64
}

// Draft is an order priced and ready to store, with what must be written
// in its transaction: an activity whose store must claim something in the
// same transaction (a team's seat) stores the draft itself.
type Draft struct {
	Order  *Order
	Events []outbox.Event
	Jobs   []jobs.Job
	// Coupons are the coupons the order uses, to mark used with it.
	Coupons []CouponUse
	// Points is how many points the order spends, taken with it.
	Points int64
}

// Place prices and places an order, reserving its stock.
func (s *Service) Place(ctx context.Context, in PlaceInput) (*Order, error) {
	d, err := s.Prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	create := func(ctx context.Context, d *Draft) error { return s.Store.CreateOrder(ctx, d.Order, d.Events, d.Jobs) }
	if len(d.Coupons) > 0 {
		create = s.Coupons.CreateOrder
	}
	if d.Points > 0 {
		create = s.Points.CreateOrder
	}
	if err := PlaceError(create(ctx, d)); err != nil {
		return nil, err
	}
	return s.PayFree(ctx, d.Order)
}

// PlaceError is how a failed CreateOrder (or an activity store's creation
// of a draft) reaches the buyer: a short SKU names its line.
func PlaceError(err error) error {
	if e, ok := errs.As(err); ok && e.Code == "out_of_stock" {
		return &errs.Error{Kind: errs.Conflict, Code: e.Code, Field: "lines[" + e.Field + "]", Message: e.Message}
	}
	return err
}

// Prepare prices an order request and builds the order, its events and
// jobs, without storing anything.
func (s *Service) Prepare(ctx context.Context, in PlaceInput) (*Draft, error) {
	if in.Offer != nil && in.FromCart {
		return nil, errs.Field("from_cart", "offer_needs_direct_buy", "an activity's order is a direct buy, not a cart checkout")
	}
	if len(in.CouponIDs) > 0 && in.Offer != nil {
		// An activity's price is its whole offer: DOMAIN.md keeps one
		// discount from stacking on another's floor.
		return nil, errs.Field("coupon_ids", "offer_takes_no_coupon", "an activity's order takes no coupon")
	}
	if err := s.checkPoints(in); err != nil {
		return nil, err
	}
	if len(in.CouponIDs) > 0 && s.Coupons == nil {
		return nil, errs.Field("coupon_ids", "coupons_unavailable", "this shop takes no coupons")
	}
	lines, seen, err := s.requestedLines(ctx, in)
	if err != nil {
		return nil, err
	}
	skuIDs := make([]string, len(lines))
	for i, l := range lines {
		skuIDs[i] = l.SKUID
	}
	skus, err := s.Catalog.SKUs(ctx, skuIDs)
	if err != nil {
		return nil, err
	}
	priced := make([]pricing.Line, len(lines))
	for i, l := range lines {
		sp, ok := skus[l.SKUID]
		if !ok || sp.Product.Status != catalog.OnSale {
			return nil, lineChanged(l.SKUID, "product_unavailable", "SKU %s is no longer on sale", l.SKUID)
		}
		// Units an activity holds already (a presale's balance) are not
		// available to anyone, the buyer included: nothing to check here.
		if sp.SKU.Available < int64(l.Qty) && !in.Offer.holdsStock() {
			return nil, &errs.Error{Kind: errs.Conflict, Code: "out_of_stock", Field: "lines[" + l.SKUID + "]",
				Message: fmt.Sprintf("only %d of %s %s left", max(sp.SKU.Available, 0), sp.Product.Title, sp.SKU.SpecText())}
		}
		priced[i] = pricing.Line{SKUID: l.SKUID, Qty: l.Qty, ListPrice: sp.SKU.ListPrice, SalePrice: sp.SKU.SalePrice}
		if in.Offer != nil {
			price, ok := in.Offer.price(l.SKUID)
			if !ok {
				return nil, lineChanged(l.SKUID, "not_in_activity", "SKU %s is not part of the activity", l.SKUID)
			}
			priced[i].OfferPrice, priced[i].OfferRef = price, in.Offer.Activity.ID
		}
	}
	if in.FromCart {
		if err := s.recheckPrices(ctx, in.BuyerID, seen, skus); err != nil {
			return nil, err
		}
	}
	var coupons []pricing.Coupon
	if len(in.CouponIDs) > 0 {
		if coupons, err = s.Coupons.Terms(ctx, in.BuyerID, in.CouponIDs, skus); err != nil {
			return nil, err
		}
	}
	expanded, from, err := in.Offer.split(priced)
	if err != nil {
		return nil, err
	}
	var pts *pricing.Points
	if in.Points > 0 {
		if pts, err = s.Points.Terms(ctx, in.BuyerID, in.Points); err != nil {
			return nil, err
		}
	}
	x := pricing.Extra{Points: pts}
	// An activity's price is its whole offer: no tier discount on top.
	if s.Members != nil && in.Offer == nil {
		if x.Member, err = s.Members.Benefits(ctx, in.BuyerID, skus); err != nil {
			return nil, err
		}
	}
	q, err := s.Pricing.PriceWith(ctx, expanded, x, coupons...)
	if err != nil {
		return nil, err
	}
	merge(q, from, len(priced))
	in.Offer.noShipping(q)
	uses, err := couponUses(q)
	if err != nil {
		return nil, err
	}
	shipTo, err := s.Addresses.ShipTo(ctx, in.BuyerID, in.AddressID)
	if err != nil {
		return nil, err
	}

	now := s.Clock.Now()
	o := &Order{
		ID: ids.New(), BuyerID: in.BuyerID, Status: PendingPayment,
		Subtotal: q.Subtotal, Discount: q.Discount, Shipping: q.Shipping, Total: q.Total,
		ShipTo: shipTo, Remark: in.Remark, FromCart: in.FromCart,
		PayBy: now.Add(s.config().PayWindow), CreatedAt: now, UpdatedAt: now,
	}
	if in.Offer != nil {
		a := in.Offer.Activity
		o.Activity, o.Held = &a, in.Offer.Hold
		if !in.Offer.PayBy.IsZero() && in.Offer.PayBy.Before(o.PayBy) {
			o.PayBy = in.Offer.PayBy
		}
	}
	for i, pl := range q.Lines {
		sp := skus[pl.SKUID]
		o.Lines = append(o.Lines, Line{
			ID: ids.New(), SKUID: pl.SKUID, ProductID: sp.Product.ID, Title: sp.Product.Title, Spec: sp.SKU.SpecText(),
			Qty: pl.Qty, ListPrice: pl.ListPrice, SalePrice: pl.SalePrice, Amount: q.Lines[i].Amount, Adjustments: pl.Adjustments,
		})
	}
	return &Draft{
		Order:   o,
		Events:  []outbox.Event{s.event(o, "", PendingPayment, "", TopicCreated)},
		Jobs:    []jobs.Job{jobs.New(JobCloseUnpaid, o.ID, o.PayBy, jobPayload{OrderID: o.ID})},
		Coupons: uses,
		Points:  q.PointsSpent,
	}, nil
}

// checkPoints refuses points where they cannot go: an activity's price is
// its whole offer (as with coupons), and an order that uses coupons is
// written by the coupon store, which does not take points in the same
// transaction yet (docs/points.md, "Limits").
func (s *Service) checkPoints(in PlaceInput) error {
	switch {
	case in.Points < 0:
		return errs.Field("points", "points_out_of_range", "points must not be negative")
	case in.Points == 0:
		return nil
	case s.Points == nil:
		return errs.Field("points", "points_unavailable", "this shop takes no points")
	case in.Offer != nil:
		return errs.Field("points", "offer_takes_no_points", "an activity's order takes no points")
	case len(in.CouponIDs) > 0:
		return errs.Field("points", "points_with_coupon", "an order spends points or uses coupons, not both")
	}
	return nil
}

// Compose is the draft of an order an activity built and priced itself,
// in bulk, where Prepare's per-order reads would not keep up (a flash sale's
// order writer): the order's creation event and its close job, as Prepare
// gives them.
func (s *Service) Compose(o *Order) *Draft {
	return &Draft{
		Order:  o,
		Events: []outbox.Event{s.event(o, "", PendingPayment, "", TopicCreated)},
		Jobs:   []jobs.Job{jobs.New(JobCloseUnpaid, o.ID, o.PayBy, jobPayload{OrderID: o.ID})},
	}
}

// couponUses is what each coupon of the quote saved. A coupon that saves
// nothing (free shipping on an order shipped free anyway) is refused rather
// than spent for nothing.
func couponUses(q *pricing.Quote) ([]CouponUse, error) {
	var uses []CouponUse
	for _, c := range q.Coupons {
		saved := q.Savings[c.ID]
		if saved <= 0 {
			return nil, &errs.Error{Kind: errs.Conflict, Code: "coupon_no_saving", Field: "coupon_ids",
				Message: "coupon " + c.ID + " saves nothing on this order"}
		}
		uses = append(uses, CouponUse{ID: c.ID, Saved: saved})
	}
	return uses, nil
}

// PayFree marks an order that costs nothing (a bargain cut to a floor of
// 0, shipping free) paid at once: there is nothing for the payment
// platform to collect, and it refuses a payment of 0 fen. Any other order
// is returned as it is. Should the move fail, the order stays unpaid and
// its close job ends it.
func (s *Service) PayFree(ctx context.Context, o *Order) (*Order, error) {
	if o.Total != 0 || o.Status != PendingPayment {
		return o, nil
	}
	return s.Store.UpdateOrder(ctx, o.ID, func(o *Order) (Change, error) {
		return s.PaidChange(o, s.Clock.Now())
	})
}

// Release lets a held order ship: its activity is settled (the team
// filled). Releasing an order that is not held changes nothing.
func (s *Service) Release(ctx context.Context, id string) (*Order, error) {
	return s.Store.UpdateOrder(ctx, id, func(o *Order) (Change, error) {
		if !o.Held {
			return Change{}, ErrNoop
		}
		now := s.Clock.Now()
		o.Held, o.UpdatedAt = false, now
		return Change{Events: []outbox.Event{s.event(o, o.Status, o.Status, "activity settled", TopicReleased)}}, nil
	})
}

// requestedLines resolves the input to lines; for a cart checkout it also
// returns the prices the buyer saw.
func (s *Service) requestedLines(ctx context.Context, in PlaceInput) ([]LineInput, map[string]cart.Line, error) {
	if !in.FromCart {
		if err := checkLines(in.Lines); err != nil {
			return nil, nil, err
		}
		return in.Lines, nil, nil
	}
	cl, err := s.Carts.CartLines(ctx, in.BuyerID)
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	for _, id := range in.SKUIDs {
		want[id] = true
	}
	seen := map[string]cart.Line{}
	var lines []LineInput
	for _, l := range cl {
		if len(want) == 0 || want[l.SKUID] {
			lines = append(lines, LineInput{SKUID: l.SKUID, Qty: l.Qty})
			seen[l.SKUID] = l
		}
	}
	for id := range want {
		if _, ok := seen[id]; !ok {
			return nil, nil, &errs.Error{Kind: errs.NotFound, Code: "cart_line_not_found", Field: "sku_ids", Message: "SKU " + id + " is not in the cart"}
		}
	}
	if len(lines) == 0 {
		return nil, nil, ErrEmptyCart
	}
	return lines, seen, nil
}

// checkLines refuses a direct buy the store must never see: a quantity of
// zero or less would reserve negative stock (handing units to nobody), and
// the same SKU twice would be priced as two lines. The bounds are the cart's,
// so a direct buy can ask for no more than a checkout could.
func checkLines(lines []LineInput) error {
	if len(lines) == 0 {
		return ErrNoLines
	}
	var l errs.List
	if len(lines) > cart.MaxLines {
		l.Add("lines", "too_many_lines", "an order holds at most %d lines", cart.MaxLines)
	}
	seen := make(map[string]bool, len(lines))
	for i, in := range lines {
		field := fmt.Sprintf("lines[%d]", i)
		switch {
		case in.SKUID == "":
			l.Add(field+".sku_id", "required", "a line needs a SKU")
		case seen[in.SKUID]:
			l.Add(field+".sku_id", "duplicate_sku", "SKU %s is in the order twice", in.SKUID)
		}
		seen[in.SKUID] = true
		if in.Qty < 1 || in.Qty > cart.MaxQty {
			l.Add(field+".qty", "qty_out_of_range", "a line holds 1 to %d units", cart.MaxQty)
		}
	}
	return l.Err()
}

// recheckPrices refuses a cart checkout whose prices moved since the buyer
// saw them, naming the first line that changed, and refreshes the cart so the
// buyer sees the new prices and can check out again knowingly.
func (s *Service) recheckPrices(ctx context.Context, buyerID string, seen map[string]cart.Line, skus map[string]catalog.SKUWithProduct) error {
	// The price a cart shows is the shelf price (a limited-time price in
	// force, else the sale price): the same one is checked here.
	prices, err := cart.ShelfPrices(ctx, s.Pricing, skus)
	if err != nil {
		return err
	}
	// Map order is random: walk the SKUs sorted so the line named is the
	// same on every try.
	var first error
	for _, id := range slices.Sorted(maps.Keys(seen)) {
		l := seen[id]
		now := prices[id]
		if l.SeenPrice == now {
			continue
		}
		if first == nil {
			first = lineChanged(id, "price_changed", "the price of %s %s changed from %s to %s",
				skus[id].Product.Title, skus[id].SKU.SpecText(), l.SeenPrice, now)
		}
		l.SeenPrice = now
		if err := s.Carts.PutCartLine(ctx, buyerID, l); err != nil {
			return err
		}
	}
	return first
}

// Get returns a buyer's order; another buyer's order is not found.
func (s *Service) Get(ctx context.Context, buyerID, id string) (*Order, error) {
	o, err := s.Store.Order(ctx, id)
	if err != nil {
		return nil, err
	}
	if o.BuyerID != buyerID {
		return nil, ErrNotFound
	}
	return o, nil
}

// Order is an operator's read of any order.
func (s *Service) Order(ctx context.Context, id string) (*Order, error) {
	return s.Store.Order(ctx, id)
}

// List lists orders newest first. The buyer API always sets f.BuyerID to the
// caller, so a buyer can only ever list their own.
func (s *Service) List(ctx context.Context, f ListFilter) (Page, error) {
	f.Limit = page.Size(f.Limit, DefaultLimit, MaxLimit)
	return s.Store.Orders(ctx, f)
}

// Page sizes of order listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Cancel is the buyer cancelling an unpaid order.
//
// It does not wait for BeforeClose: the platform may refuse to close a
// transaction in its first minutes, and a buyer's cancel must not fail on
// that. A payment left open is closed by its reconciliation job, and money
// that still arrives is captured after close and refunded in full.
func (s *Service) Cancel(ctx context.Context, buyerID, id string) (*Order, error) {
	return s.move(ctx, id, buyerID, Cancelled, "cancelled by buyer", nil)
}

// Close closes an unpaid order: its pay window ran out, or an operator
// closed it. Closing an order that is no longer pending payment changes
// nothing and is not an error when it is the job doing it.
func (s *Service) Close(ctx context.Context, id, reason string) (*Order, error) {
	if err := s.settlePayment(ctx, id); err != nil {
		return nil, err
	}
	return s.move(ctx, id, "", Closed, reason, nil)
}

// settlePayment runs BeforeClose. Its failure is reported as unavailable
// whatever caused it: the close job treats a conflict as "the order moved
// on" and would stop retrying, leaving an unpaid order open for good.
func (s *Service) settlePayment(ctx context.Context, id string) error {
	if s.BeforeClose == nil {
		return nil
	}
	if err := s.BeforeClose(ctx, id); err != nil {
		return &errs.Error{Kind: errs.Unavailable, Code: "payment_unsettled",
			Message: "the order's payment could not be settled with the payment platform; try again", Err: err}
	}
	return nil
}

// PaidChange moves o to paid as of paidAt and returns what the store must
// write with it (the stock commit, the order.paid event). It is the one
// rule for paying an order; the payment capture runs it inside its own
// transaction, so an order is paid only with its payment and ledger
// transfers. An order already paid gives ErrNoop;
// one that cannot be paid, ErrBadTransition.
func (s *Service) PaidChange(o *Order, paidAt time.Time) (Change, error) {
	return s.transition(o, Paid, "", func(o *Order, _ time.Time) []jobs.Job {
		o.PaidAt = &paidAt
		return nil
	})
}

// ShipInput is an operator's shipment.
type ShipInput struct {
	Carrier    string
	TrackingNo string
}

// Ship records the shipment and schedules the automatic receipt.
func (s *Service) Ship(ctx context.Context, id string, in ShipInput) (*Order, error) {
	return s.move(ctx, id, "", Shipped, "", func(o *Order, now time.Time) []jobs.Job {
		o.Carrier, o.TrackingNo, o.ShippedAt = in.Carrier, in.TrackingNo, &now
		due := now.Add(s.config().AutoConfirm)
		return []jobs.Job{jobs.New(JobConfirmReceipt, o.ID, due, jobPayload{OrderID: o.ID})}
	})
}

// MarkDelivered records that the carrier delivered.
func (s *Service) MarkDelivered(ctx context.Context, id string) (*Order, error) {
	return s.move(ctx, id, "", Delivered, "", func(o *Order, now time.Time) []jobs.Job {
		o.DeliveredAt = &now
		return nil
	})
}

// ConfirmReceipt is the buyer confirming they got the goods.
func (s *Service) ConfirmReceipt(ctx context.Context, buyerID, id string) (*Order, error) {
	return s.move(ctx, id, buyerID, Completed, "confirmed by buyer", completed)
}

func completed(o *Order, now time.Time) []jobs.Job {
	o.CompletedAt = &now
	return nil
}

// move applies one transition. buyerID, when set, must own the order. A move
// to the state the order is already in is a no-op that returns the order, so
// repeated requests and repeated jobs are harmless.
func (s *Service) move(ctx context.Context, id, buyerID string, to Status, reason string, apply func(*Order, time.Time) []jobs.Job) (*Order, error) {
	return s.Store.UpdateOrder(ctx, id, func(o *Order) (Change, error) {
		if buyerID != "" && o.BuyerID != buyerID {
			return Change{}, ErrNotFound
		}
		return s.transition(o, to, reason, apply)
	})
}

// transition moves o to the state to, in memory, and returns what the
// store must write with it.
func (s *Service) transition(o *Order, to Status, reason string, apply func(*Order, time.Time) []jobs.Job) (Change, error) {
	if o.Status == to {
		return Change{}, ErrNoop
	}
	if !CanMove(o.Status, to) {
		return Change{}, ErrBadTransition(o.Status, to)
	}
	if to == Shipped && o.Held {
		return Change{}, ErrHeld
	}
	now := s.Clock.Now()
	from := o.Status
	o.Status, o.UpdatedAt = to, now
	var c Change
	switch to {
	case Cancelled, Closed:
		o.EndedAt, o.EndReason = &now, reason
		c.Stock = StockRelease
	case Refunded:
		// The refund puts returned or unshipped units back itself
		// (refund.succeeded's consumer); the order only stops here.
		o.EndedAt, o.EndReason = &now, reason
	case Paid:
		c.Stock = StockCommit
	}
	if apply != nil {
		c.Jobs = apply(o, now)
	}
	c.Events = []outbox.Event{s.event(o, from, to, reason, topicOf[to])}
	return c, nil
}

var topicOf = map[Status]string{
	Paid: TopicPaid, Cancelled: TopicCancelled, Closed: TopicClosed,
	Shipped: TopicShipped, Delivered: TopicDelivered, Completed: TopicCompleted,
	Refunded: TopicRefunded,
}

// ErrNoop is returned by an UpdateOrder closure that has nothing to change;
// stores treat it as success, write nothing and return the order as it is.
var ErrNoop = errors.New("order: nothing to change")

func (s *Service) event(o *Order, from, to Status, reason, topic string) outbox.Event {
	return outbox.New(topic, o.ID, Event{OrderID: o.ID, BuyerID: o.BuyerID, From: from, To: to, Total: int64(o.Total),
		Reason: reason, Activity: o.Activity}, s.Clock.Now())
}

func (s *Service) config() Config {
	c := s.Config
	if c.PayWindow <= 0 {
		c.PayWindow = DefaultConfig.PayWindow
	}
	if c.AutoConfirm <= 0 {
		c.AutoConfirm = DefaultConfig.AutoConfirm
	}
	return c
}
