package coupon

import (
	"context"
	"slices"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Service runs the coupon rules.
type Service struct {
	Store   Store
	Carts   cart.Store
	Catalog catalog.Store
	Pricing *pricing.Pipeline // the order pipeline, for the best-coupon suggestion
	Clock   clock.Clock
}

var _ order.Coupons = (*Service)(nil)

// CreateTemplate checks and stores an operator's template.
func (s *Service) CreateTemplate(ctx context.Context, in NewTemplate) (*Template, error) {
	now := s.Clock.Now()
	if err := in.check(now); err != nil {
		return nil, err
	}
	t := &Template{
		ID: ids.New(), Terms: in.Terms, ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, ValidDays: in.ValidDays,
		PerBuyer: in.PerBuyer, Quantity: in.Quantity, Budget: in.Budget, Mode: in.Mode, Status: Active,
		CreatedAt: now, UpdatedAt: now,
	}
	if t.ScopeIDs == nil {
		t.ScopeIDs = []string{}
	}
	if err := s.Store.CreateCouponTemplate(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// Template is an operator's read of a template.
func (s *Service) Template(ctx context.Context, id string) (*Template, error) {
	return s.Store.CouponTemplate(ctx, id)
}

// Templates lists templates for an operator.
func (s *Service) Templates(ctx context.Context, f TemplateFilter) (TemplatePage, error) {
	f.Limit = limit(f.Limit)
	f.Now = s.Clock.Now()
	return s.Store.CouponTemplates(ctx, f)
}

// Claimable lists the templates a buyer may claim from now. A new-user
// template is listed to every buyer: whether one qualifies is checked at
// the claim, so the listing does not depend on who looks.
func (s *Service) Claimable(ctx context.Context, cursor string, n int) (TemplatePage, error) {
	return s.Store.CouponTemplates(ctx, TemplateFilter{Claimable: true, Now: s.Clock.Now(), Cursor: cursor, Limit: limit(n)})
}

// EndTemplate stops a template's claims and issues. Coupons already held
// stay usable until they expire: the buyer was given them.
func (s *Service) EndTemplate(ctx context.Context, id string) (*Template, error) {
	return s.Store.EndCouponTemplate(ctx, id, s.Clock.Now())
}

// Claim gives the buyer one coupon of a claim or new-user template.
func (s *Service) Claim(ctx context.Context, buyerID, templateID string) (*Coupon, error) {
	t, err := s.Store.CouponTemplate(ctx, templateID)
	if err != nil {
		return nil, err
	}
	if t.Mode == Recall {
		return nil, ErrNotClaimable
	}
	return s.claim(ctx, t, buyerID)
}

// IssueOnce gives buyerID one coupon of a recall template, once per key
// (a bargain help's id, say): issued is false, with no error, when a coupon
// was issued with the key already. The template refuses as in Issue
// (ErrSoldOut, ErrLimitReached, ErrTemplateEnded, ...).
func (s *Service) IssueOnce(ctx context.Context, templateID, buyerID, key string) (issued bool, err error) {
	t, err := s.Store.CouponTemplate(ctx, templateID)
	if err != nil {
		return false, err
	}
	if t.Mode != Recall {
		return false, ErrNotRecall
	}
	_, err = s.claimKeyed(ctx, t, buyerID, key)
	if err == ErrIssued {
		return false, nil
	}
	return err == nil, err
}

func (s *Service) claim(ctx context.Context, t *Template, buyerID string) (*Coupon, error) {
	return s.claimKeyed(ctx, t, buyerID, "")
}

func (s *Service) claimKeyed(ctx context.Context, t *Template, buyerID, key string) (*Coupon, error) {
	now := s.Clock.Now()
	if t.Status != Active {
		return nil, ErrTemplateEnded
	}
	if t.ValidUntil != nil && !now.Before(*t.ValidUntil) {
		return nil, ErrClaimOver
	}
	from, until := t.Validity(now)
	c := &Coupon{ID: ids.New(), TemplateID: t.ID, BuyerID: buyerID, Terms: t.Terms, State: Available,
		ValidFrom: from, ValidUntil: until, ClaimedAt: now}
	err := s.Store.ClaimCoupon(ctx, c, ClaimInput{TemplateID: t.ID, BuyerID: buyerID, PerBuyer: t.PerBuyer,
		NewUserOnly: t.Mode == NewUser, Now: now, Key: key})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// IssueResult is what a recall issue gave: a coupon per buyer issued, and
// why each other buyer got none.
type IssueResult struct {
	Issued  []Coupon  `json:"issued"`
	Refused []Refusal `json:"refused"`
}

// Refusal is a buyer a recall issue gave nothing, and the error's code.
type Refusal struct {
	BuyerID string `json:"buyer_id"`
	Code    string `json:"code"`
}

// Issue gives one coupon of a recall template to each named buyer, each
// under the same atomic checks as a claim (quantity, per-buyer limit).
func (s *Service) Issue(ctx context.Context, templateID string, buyerIDs []string) (IssueResult, error) {
	var l errs.List
	if len(buyerIDs) == 0 || len(buyerIDs) > MaxIssue {
		l.Add("buyer_ids", "buyer_ids_out_of_range", "name 1 to %d buyers", MaxIssue)
	}
	for _, id := range buyerIDs {
		if !ids.Valid(id) {
			l.Add("buyer_ids", "invalid_id", "buyer_ids must be ids")
			break
		}
	}
	if err := l.Err(); err != nil {
		return IssueResult{}, err
	}
	t, err := s.Store.CouponTemplate(ctx, templateID)
	if err != nil {
		return IssueResult{}, err
	}
	if t.Mode != Recall {
		return IssueResult{}, ErrNotRecall
	}
	res := IssueResult{Issued: []Coupon{}, Refused: []Refusal{}}
	seen := map[string]bool{}
	for _, b := range buyerIDs {
		if seen[b] {
			continue
		}
		seen[b] = true
		c, err := s.claim(ctx, t, b)
		if e, ok := errs.As(err); ok && e.Kind != errs.Internal {
			res.Refused = append(res.Refused, Refusal{BuyerID: b, Code: e.Code})
			continue
		}
		if err != nil {
			return IssueResult{}, err
		}
		res.Issued = append(res.Issued, *c)
	}
	return res, nil
}

// Coupons lists a buyer's coupons; f.BuyerID is always the caller.
func (s *Service) Coupons(ctx context.Context, f CouponFilter) (CouponPage, error) {
	f.Limit = limit(f.Limit)
	f.Now = s.Clock.Now()
	p, err := s.Store.Coupons(ctx, f)
	for i := range p.Coupons {
		p.Coupons[i].State = p.Coupons[i].StateAt(f.Now)
	}
	return p, err
}

// Terms checks the coupons a buyer names at checkout (theirs, available,
// valid now, at most one discount and one free-shipping coupon) and
// resolves each to what the pricing step applies: its terms and the SKUs
// of the order in its scope. The threshold is the pricing step's to judge,
// on what the goods cost after the sale and activity steps.
func (s *Service) Terms(ctx context.Context, buyerID string, couponIDs []string, skus map[string]catalog.SKUWithProduct) ([]pricing.Coupon, error) {
	cs, err := s.usable(ctx, buyerID, couponIDs)
	if err != nil {
		return nil, err
	}
	out := make([]pricing.Coupon, 0, len(cs))
	for _, c := range cs {
		out = append(out, termsFor(&c, skus))
	}
	return out, nil
}

// usable reads and checks the named coupons, discount first.
func (s *Service) usable(ctx context.Context, buyerID string, couponIDs []string) ([]Coupon, error) {
	if len(couponIDs) > 2 {
		return nil, ErrStacking
	}
	for _, id := range couponIDs {
		if !ids.Valid(id) {
			return nil, ErrNotFound
		}
	}
	if len(couponIDs) == 2 && couponIDs[0] == couponIDs[1] {
		return nil, &errs.Error{Kind: errs.Invalid, Code: "duplicate_coupon", Field: "coupon_ids", Message: "a coupon is named twice"}
	}
	cs, err := s.Store.CouponsByID(ctx, couponIDs)
	if err != nil {
		return nil, err
	}
	if len(cs) != len(couponIDs) {
		return nil, ErrNotFound
	}
	now := s.Clock.Now()
	discounts, free := 0, 0
	for _, c := range cs {
		switch {
		case c.BuyerID != buyerID:
			return nil, ErrNotFound
		case c.StateAt(now) == Expired:
			return nil, ErrExpired
		case c.State != Available:
			return nil, ErrUnavailable
		case now.Before(c.ValidFrom):
			return nil, ErrNotYetValid
		}
		if c.Kind.Discount() {
			discounts++
		} else {
			free++
		}
	}
	if discounts > 1 || free > 1 {
		return nil, ErrStacking
	}
	slices.SortStableFunc(cs, func(a, b Coupon) int {
		if a.Kind.Discount() == b.Kind.Discount() {
			return 0
		}
		if a.Kind.Discount() {
			return -1
		}
		return 1
	})
	return cs, nil
}

// termsFor is c in the pricing step's terms for an order of skus.
func termsFor(c *Coupon, skus map[string]catalog.SKUWithProduct) pricing.Coupon {
	p := pricing.Coupon{ID: c.ID, Min: c.MinSpend}
	switch c.Kind {
	case Fixed, Threshold:
		p.Off = c.Off
	case Percent:
		p.Rate, p.Cap = c.Rate, c.Cap
	case FreeShipping:
		p.FreeShipping = true
	}
	if c.Scope == All {
		return p
	}
	p.SKUs = map[string]bool{}
	for id, sp := range skus {
		var key string
		switch c.Scope {
		case Category:
			key = sp.Product.CategoryID
		case Product:
			key = sp.Product.ID
		case SKU:
			key = id
		}
		if slices.Contains(c.ScopeIDs, key) {
			p.SKUs[id] = true
		}
	}
	return p
}

// CreateOrder stores an order that uses coupons: the coupons are marked
// used, the budgets spent and the order created in one transaction.
func (s *Service) CreateOrder(ctx context.Context, d *order.Draft) error {
	return s.Store.UseCoupons(ctx, d, s.Clock.Now())
}

// Restore makes an order's coupons available again, once.
func (s *Service) Restore(ctx context.Context, orderID string) error {
	_, err := s.Store.RestoreCoupons(ctx, orderID)
	return err
}

func limit(n int) int { return page.Size(n, DefaultLimit, MaxLimit) }
