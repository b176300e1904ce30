package coupon

import (
	"context"
	"slices"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Suggestion is a coupon (or a discount and a free-shipping coupon
// together) priced against the buyer's cart.
type Suggestion struct {
	CouponIDs []string  `json:"coupon_ids"`
	Coupons   []Coupon  `json:"coupons"`
	Saving    money.Fen `json:"saving"`
	Total     money.Fen `json:"total"` // what the cart would cost with them
}

// CartCoupons is the best-coupon suggestion for a cart.
type CartCoupons struct {
	Total       money.Fen    `json:"total"` // what the cart costs with no coupon
	Suggestions []Suggestion `json:"suggestions"`
}

// Suggest prices the buyer's cart with each coupon they can use now, and
// with the best discount and free-shipping coupons together, and returns
// those that save something, best first (then the one expiring first). It
// runs the order's own pipeline, so the saving is what checkout gives.
func (s *Service) Suggest(ctx context.Context, buyerID string) (CartCoupons, error) {
	out := CartCoupons{Suggestions: []Suggestion{}}
	lines, skus, err := s.cartLines(ctx, buyerID)
	if err != nil || len(lines) == 0 {
		return out, err
	}
	base, err := s.Pricing.Price(ctx, lines)
	if err != nil {
		return out, err
	}
	out.Total = base.Total
	now := s.Clock.Now()
	page, err := s.Store.Coupons(ctx, CouponFilter{BuyerID: buyerID, State: Available, Now: now, Limit: MaxLimit})
	if err != nil {
		return out, err
	}
	var bestDiscount, bestFree *Suggestion
	for _, c := range page.Coupons {
		if now.Before(c.ValidFrom) {
			continue
		}
		sg, ok, err := s.price(ctx, lines, skus, base.Total, c)
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		out.Suggestions = append(out.Suggestions, sg)
		best := &bestFree
		if c.Kind.Discount() {
			best = &bestDiscount
		}
		if *best == nil || better(sg, **best) {
			cp := sg
			*best = &cp
		}
	}
	if bestDiscount != nil && bestFree != nil {
		pair, ok, err := s.price(ctx, lines, skus, base.Total, bestDiscount.Coupons[0], bestFree.Coupons[0])
		if err != nil {
			return out, err
		}
		if ok {
			out.Suggestions = append(out.Suggestions, pair)
		}
	}
	slices.SortStableFunc(out.Suggestions, func(a, b Suggestion) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
	return out, nil
}

// better orders suggestions: a larger saving, then fewer coupons spent,
// then the one expiring first (use it before it is lost).
func better(a, b Suggestion) bool {
	if a.Saving != b.Saving {
		return a.Saving > b.Saving
	}
	if len(a.Coupons) != len(b.Coupons) {
		return len(a.Coupons) < len(b.Coupons)
	}
	return expiry(a).Before(expiry(b))
}

func expiry(s Suggestion) time.Time {
	var first time.Time
	for _, c := range s.Coupons {
		if first.IsZero() || c.ValidUntil.Before(first) {
			first = c.ValidUntil
		}
	}
	return first
}

// price is the cart priced with cs; ok is false when the cart does not
// qualify (threshold, scope) or saves nothing.
func (s *Service) price(ctx context.Context, lines []pricing.Line, skus map[string]catalog.SKUWithProduct, total money.Fen, cs ...Coupon) (Suggestion, bool, error) {
	terms := make([]pricing.Coupon, len(cs))
	ids := make([]string, len(cs))
	for i := range cs {
		terms[i], ids[i] = termsFor(&cs[i], skus), cs[i].ID
	}
	q, err := s.Pricing.Price(ctx, lines, terms...)
	if e, ok := errs.As(err); ok && e.Kind == errs.Conflict {
		return Suggestion{}, false, nil
	}
	if err != nil {
		return Suggestion{}, false, err
	}
	saving := total - q.Total
	return Suggestion{CouponIDs: ids, Coupons: cs, Saving: saving, Total: q.Total}, saving > 0, nil
}

// cartLines is the buyer's cart as pricing lines, its SKUs on sale only
// (checkout refuses the others anyway).
func (s *Service) cartLines(ctx context.Context, buyerID string) ([]pricing.Line, map[string]catalog.SKUWithProduct, error) {
	cl, err := s.Carts.CartLines(ctx, buyerID)
	if err != nil || len(cl) == 0 {
		return nil, nil, err
	}
	skuIDs := make([]string, len(cl))
	for i, l := range cl {
		skuIDs[i] = l.SKUID
	}
	skus, err := s.Catalog.SKUs(ctx, skuIDs)
	if err != nil {
		return nil, nil, err
	}
	var lines []pricing.Line
	for _, l := range cl {
		sp, ok := skus[l.SKUID]
		if !ok || sp.Product.Status != catalog.OnSale {
			delete(skus, l.SKUID)
			continue
		}
		lines = append(lines, pricing.Line{SKUID: l.SKUID, Qty: l.Qty, ListPrice: sp.SKU.ListPrice, SalePrice: sp.SKU.SalePrice})
	}
	return lines, skus, nil
}
