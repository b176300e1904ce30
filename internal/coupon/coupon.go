// Package coupon owns coupons: the templates an operator sets up, the
// coupons buyers claim or are issued, and their use at checkout through the
// pricing pipeline's coupon step (issue 7, "Coupons"; DOMAIN.md module 1).
//
// A coupon never depends on who the buyer is beyond its issue mode (a
// new-user coupon, a recall red packet): a displayed price does not depend
// on who is looking (DOMAIN.md, "Prices").
package coupon

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

// Kind is what a coupon takes off.
type Kind string

const (
	Fixed        Kind = "fixed"         // an amount off
	Percent      Kind = "percent"       // a rate off, with a cap
	Threshold    Kind = "threshold"     // 满减: spend at least MinSpend, save Off
	FreeShipping Kind = "free_shipping" // the shipping fee waived
)

// Kinds lists the kinds.
var Kinds = []Kind{Fixed, Percent, Threshold, FreeShipping}

// Discount reports whether k takes money off the goods: an order takes at
// most one such coupon, plus at most one free-shipping coupon.
func (k Kind) Discount() bool { return k != FreeShipping }

// Scope is which goods a coupon applies to.
type Scope string

const (
	All      Scope = "all"
	Category Scope = "category"
	Product  Scope = "product"
	SKU      Scope = "sku"
)

// Scopes lists the scopes.
var Scopes = []Scope{All, Category, Product, SKU}

// Mode is how a template's coupons reach buyers.
type Mode string

const (
	Claim   Mode = "claim"    // any buyer claims one
	NewUser Mode = "new_user" // only a buyer with no paid order claims one
	Recall  Mode = "recall"   // an operator issues it to named buyers (a recall red packet)
)

// Modes lists the issue modes.
var Modes = []Mode{Claim, NewUser, Recall}

// Status is a template's.
type Status string

const (
	Active Status = "active"
	Ended  Status = "ended" // no more claims or issues; coupons held stay usable until they expire
)

// State is a coupon's. Expired is never stored: it is an available coupon
// past its validity, judged when read.
type State string

const (
	Available State = "available"
	Used      State = "used"
	Expired   State = "expired"
)

// States lists the states a buyer filters by.
var States = []State{Available, Used, Expired}

// Terms are what a coupon gives and on what; a template's terms are fixed
// once it is created, so a coupon held keeps the terms it was claimed on.
type Terms struct {
	Name     string    `json:"name"`
	Kind     Kind      `json:"kind"`
	Off      money.Fen `json:"off"`       // fixed, threshold
	Rate     money.BP  `json:"rate_bp"`   // percent
	Cap      money.Fen `json:"cap"`       // percent: the most it takes
	MinSpend money.Fen `json:"min_spend"` // the goods in scope must cost at least this; 0: none
	Scope    Scope     `json:"scope"`
	ScopeIDs []string  `json:"scope_ids"` // category, product or SKU ids
}

// Template is an operator's coupon design.
type Template struct {
	ID string `json:"id"`
	Terms
	// Validity: a window (ValidFrom, ValidUntil), or ValidDays from the
	// claim.
	ValidFrom  *time.Time `json:"valid_from,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	ValidDays  int        `json:"valid_days,omitempty"`
	PerBuyer   int        `json:"per_buyer_limit"`
	Quantity   int64      `json:"quantity"`
	Issued     int64      `json:"issued"`
	Budget     money.Fen  `json:"budget"` // the most all its coupons may save together; 0: no budget
	Spent      money.Fen  `json:"spent"`
	Mode       Mode       `json:"issue_mode"`
	Status     Status     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
}

// Validity is the window a coupon claimed at claimedAt is usable in.
func (t *Template) Validity(claimedAt time.Time) (from, until time.Time) {
	if t.ValidDays > 0 {
		return claimedAt, claimedAt.Add(time.Duration(t.ValidDays) * 24 * time.Hour)
	}
	return *t.ValidFrom, *t.ValidUntil
}

// Coupon is one buyer's coupon.
type Coupon struct {
	ID         string `json:"id"`
	TemplateID string `json:"template_id"`
	BuyerID    string `json:"-"`
	Terms
	State      State      `json:"state"`
	ValidFrom  time.Time  `json:"valid_from"`
	ValidUntil time.Time  `json:"valid_until"`
	OrderID    string     `json:"order_id,omitempty"`
	Saved      money.Fen  `json:"saved"`
	ClaimedAt  time.Time  `json:"claimed_at"`
	UsedAt     *time.Time `json:"used_at,omitempty"`
}

// StateAt is the coupon's state as of now: an available coupon past its
// validity has expired.
func (c *Coupon) StateAt(now time.Time) State {
	if c.State == Available && !now.Before(c.ValidUntil) {
		return Expired
	}
	return c.State
}

// ClaimInput is what a claim must satisfy, checked by the store atomically
// with the coupon's insertion.
type ClaimInput struct {
	TemplateID  string
	BuyerID     string
	PerBuyer    int
	NewUserOnly bool // the buyer must have no paid order
	Now         time.Time
	// Key, when not "", makes the issue once only: a coupon already
	// issued with the key refuses the claim with ErrIssued, and nothing
	// is counted.
	Key string
}

// TemplateFilter selects templates, newest first.
type TemplateFilter struct {
	Status Status
	Mode   Mode
	// Claimable: active, in claim or new_user mode, with coupons and
	// budget left and a window not over as of Now.
	Claimable bool
	Now       time.Time
	Cursor    string
	Limit     int
}

// TemplatePage is a page of templates.
type TemplatePage struct {
	Templates  []Template `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// CouponFilter selects a buyer's coupons, newest first.
type CouponFilter struct {
	BuyerID string
	State   State // "" any; available and expired are judged against Now
	Now     time.Time
	Cursor  string
	Limit   int
}

// CouponPage is a page of coupons.
type CouponPage struct {
	Coupons    []Coupon `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Page sizes.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Store keeps templates and coupons. Claims and uses are conditional
// updates inside one transaction, so no race gives more coupons than the
// quantity, more to a buyer than the limit, a coupon to two orders, or
// savings past the budget.
type Store interface {
	CreateCouponTemplate(ctx context.Context, t *Template) error
	CouponTemplate(ctx context.Context, id string) (*Template, error)
	CouponTemplates(ctx context.Context, f TemplateFilter) (TemplatePage, error)
	// EndCouponTemplate ends an active template; ending an ended one
	// changes nothing.
	EndCouponTemplate(ctx context.Context, id string, at time.Time) (*Template, error)
	// ClaimCoupon takes one of the template's coupons for the buyer and
	// inserts c, or refuses with ErrSoldOut, ErrLimitReached, ErrNotNewUser,
	// ErrIssued (in.Key used already) or the template's own state.
	ClaimCoupon(ctx context.Context, c *Coupon, in ClaimInput) error
	// CouponsByID reads coupons (with their terms); ids not found are left out.
	CouponsByID(ctx context.Context, ids []string) ([]Coupon, error)
	Coupons(ctx context.Context, f CouponFilter) (CouponPage, error)
	// UseCoupons creates the draft's order with its coupons marked used
	// and their templates' budgets spent, all or nothing: ErrUnavailable
	// for a coupon no longer available to the buyer, ErrBudgetExhausted.
	UseCoupons(ctx context.Context, d *order.Draft, at time.Time) error
	// RestoreCoupons makes the coupons an order used available again and
	// gives their savings back to the budgets; it returns how many came
	// back (0 when already restored).
	RestoreCoupons(ctx context.Context, orderID string) (int, error)
}
