package pricing

import (
	"context"
	"testing"
)

// TestPointsStep: points come off after coupons, at most the cap of the
// goods in whole points, split across lines to the fen, before shipping.
func TestPointsStep(t *testing.T) {
	p, err := New(Sale{}, CouponStep{}, PointsStep{}, Shipping{Fee: 800, FreeOver: 5000})
	if err != nil {
		t.Fatal(err)
	}
	lines := []Line{{SKUID: "a", Qty: 1, ListPrice: 2999, SalePrice: 2999}, {SKUID: "b", Qty: 2, ListPrice: 1000, SalePrice: 1000}}
	for _, tc := range []struct {
		want, spent int64
		total       int64
	}{
		{0, 0, 4999 + 800},
		{10, 10, 4999 - 1000 + 800},
		{100, 24, 4999 - 2400 + 800}, // half of 4999 is 2499.5 fen: 24 whole points
	} {
		q, err := p.PriceWith(context.Background(), lines, Extra{Points: &Points{Want: tc.want, Unit: 100, Cap: 5000}}, Coupon{ID: "c", Off: 1})
		if err != nil {
			t.Fatal(err)
		}
		_ = q
		// The coupon took 1 fen first: goods 4998, half 2499: still 24.
		if q.PointsSpent != tc.spent || int64(q.Total) != int64(tc.total)-1 {
			t.Errorf("want %d: spent %d total %d", tc.want, q.PointsSpent, q.Total)
		}
		var sum int64
		for _, l := range q.Lines {
			for _, a := range l.Adjustments {
				if a.Step == StepPoints {
					sum += int64(a.Amount)
				}
			}
		}
		if sum != tc.spent*100 {
			t.Errorf("want %d: adjustments %d", tc.want, sum)
		}
	}
	if _, err := (&Pipeline{}).PriceWith(context.Background(), lines, Extra{Points: &Points{Want: 1, Unit: 100, Cap: 5000}}); err == nil {
		t.Fatal("a pipeline without a points step took points")
	}
}
