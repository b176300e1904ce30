package pricing

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// Coupon is a coupon the buyer applies, in the terms its template gives:
// the coupon service checks that the buyer holds it and may use it, the
// pipeline only prices it, after the sale and activity steps, so a
// threshold and a percentage look at what the lines cost by then.
type Coupon struct {
	ID           string
	Off          money.Fen       // an amount off (fixed and threshold coupons)
	Rate         money.BP        // or a rate of the eligible amount (percent coupons)
	Cap          money.Fen       // the most a rate takes; 0: no cap
	Min          money.Fen       // the eligible lines must cost at least this (满减)
	FreeShipping bool            // waives the shipping instead
	SKUs         map[string]bool // the lines it applies to; nil: every line
}

// Coupon step refusals: the buyer chose a coupon the order does not meet.
const (
	CodeCouponThreshold = "coupon_threshold_not_met"
	CodeCouponScope     = "coupon_scope_mismatch"
)

// CouponStep applies the buyer's coupons. A discount is split across the
// eligible lines by largest remainder (TakeOff), each adjustment naming
// the coupon, so a partial refund and a commission base stay exact.
type CouponStep struct{}

func (CouponStep) Name() string { return StepCoupon }

func (CouponStep) Apply(_ context.Context, q *Quote) error {
	for _, c := range q.Coupons {
		eligible := func(l Line) bool { return c.SKUs == nil || c.SKUs[l.SKUID] }
		var base money.Fen
		for _, l := range q.Lines {
			if eligible(l) {
				base += l.Amount
			}
		}
		if base == 0 {
			return &errs.Error{Kind: errs.Conflict, Code: CodeCouponScope, Field: "coupon_ids",
				Message: "coupon " + c.ID + " applies to none of the order's goods"}
		}
		if base < c.Min {
			return &errs.Error{Kind: errs.Conflict, Code: CodeCouponThreshold, Field: "coupon_ids",
				Message: "coupon " + c.ID + " needs the goods it applies to to cost at least " + c.Min.String()}
		}
		if c.FreeShipping {
			q.FreeShippingBy = c.ID
			continue
		}
		off := c.Off
		if c.Rate > 0 {
			off = base.Rate(c.Rate)
			if c.Cap > 0 && off > c.Cap {
				off = c.Cap
			}
		}
		q.saved(c.ID, q.TakeOff(StepCoupon, off, c.ID, eligible))
	}
	return nil
}
