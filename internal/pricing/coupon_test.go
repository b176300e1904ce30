package pricing

import (
	"context"
	"testing"

	"pgregory.net/rapid"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

func couponPipeline(t testing.TB) *Pipeline {
	p, err := New(Sale{}, CouponStep{}, Shipping{Fee: 800, FreeOver: 9900})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCouponSplitAddsUp: whatever the lines and the coupon, what the
// coupon took off the lines adds up to its saving, each line stays at or
// above zero, and the lines add up to the total.
func TestCouponSplitAddsUp(t *testing.T) {
	p := couponPipeline(t)
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 8).Draw(rt, "lines")
		lines := make([]Line, n)
		skus := map[string]bool{}
		for i := range lines {
			list := money.Fen(rapid.Int64Range(1, 100_000).Draw(rt, "list"))
			sale := money.Fen(rapid.Int64Range(0, int64(list)).Draw(rt, "sale"))
			lines[i] = Line{SKUID: string(rune('a' + i)), Qty: rapid.IntRange(1, 9).Draw(rt, "qty"), ListPrice: list, SalePrice: sale}
			if rapid.Bool().Draw(rt, "in scope") {
				skus[lines[i].SKUID] = true
			}
		}
		c := Coupon{ID: "c", SKUs: skus}
		if rapid.Bool().Draw(rt, "all") {
			c.SKUs = nil
		}
		if rapid.Bool().Draw(rt, "percent") {
			c.Rate = money.BP(rapid.Int64Range(1, 9999).Draw(rt, "rate"))
			c.Cap = money.Fen(rapid.Int64Range(0, 50_000).Draw(rt, "cap"))
		} else {
			c.Off = money.Fen(rapid.Int64Range(1, 500_000).Draw(rt, "off"))
		}
		q, err := p.Price(context.Background(), lines, c)
		if errs.Is(err, CodeCouponScope) {
			return
		}
		if err != nil {
			rt.Fatal(err)
		}
		var took, sum money.Fen
		for _, l := range q.Lines {
			if l.Amount < 0 {
				rt.Fatalf("line below zero: %+v", l)
			}
			sum += l.Amount
			for _, a := range l.Adjustments {
				if a.Step == StepCoupon {
					if a.Ref != "c" || (c.SKUs != nil && !c.SKUs[l.SKUID]) {
						rt.Fatalf("adjustment on a line out of scope: %+v", l)
					}
					took += a.Amount
				}
			}
		}
		if took != q.Savings["c"] || sum+q.Shipping != q.Total {
			rt.Fatalf("took %d, saved %d; lines %d + shipping %d != total %d", took, q.Savings["c"], sum, q.Shipping, q.Total)
		}
		if c.Rate > 0 && c.Cap > 0 && took > c.Cap {
			rt.Fatalf("took %d past the cap %d", took, c.Cap)
		}
	})
}

func TestCouponStep(t *testing.T) {
	p := couponPipeline(t)
	two := []Line{{SKUID: "a", Qty: 1, ListPrice: 3000, SalePrice: 3000}, {SKUID: "b", Qty: 2, ListPrice: 1000, SalePrice: 1000}}
	cases := []struct {
		name     string
		c        Coupon
		total    money.Fen
		shipping money.Fen
		code     string
	}{
		{"fixed", Coupon{ID: "c", Off: 500}, 5000 - 500 + 800, 800, ""},
		{"percent under its cap", Coupon{ID: "c", Rate: 1000, Cap: 1000}, 5000 - 500 + 800, 800, ""},
		{"percent at its cap", Coupon{ID: "c", Rate: 5000, Cap: 1000}, 5000 - 1000 + 800, 800, ""},
		{"threshold met", Coupon{ID: "c", Off: 1000, Min: 5000}, 4000 + 800, 800, ""},
		{"threshold not met in scope", Coupon{ID: "c", Off: 100, Min: 3000, SKUs: map[string]bool{"b": true}}, 0, 0, CodeCouponThreshold},
		{"scope mismatch", Coupon{ID: "c", Off: 100, SKUs: map[string]bool{}}, 0, 0, CodeCouponScope},
		{"free shipping", Coupon{ID: "c", FreeShipping: true}, 5000, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := p.Price(context.Background(), two, tc.c)
			if tc.code != "" {
				if !errs.Is(err, tc.code) {
					t.Fatalf("got %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil || q.Total != tc.total || q.Shipping != tc.shipping || q.Savings["c"] <= 0 {
				t.Fatalf("got %+v, %v", q, err)
			}
		})
	}
	noStep, _ := New(Sale{}, Shipping{Fee: 800})
	if _, err := noStep.Price(context.Background(), two, Coupon{ID: "c", Off: 1}); err == nil {
		t.Fatal("a pipeline without a coupon step took a coupon")
	}
}
