package pricing

import (
	"context"
	"errors"
	"testing"

	"github.com/siyu-commerce/siyu/internal/money"
)

// coupon is a test step that takes a fixed amount off the whole order, the
// way the coupon capability will.
type coupon struct{ off money.Fen }

func (coupon) Name() string { return StepCoupon }

func (c coupon) Apply(_ context.Context, q *Quote) error {
	q.TakeOff(StepCoupon, c.off, "test-coupon", nil)
	return nil
}

type failing struct{}

func (failing) Name() string                        { return StepPoints }
func (failing) Apply(context.Context, *Quote) error { return errors.New("points service down") }

func lines() []Line {
	return []Line{
		{SKUID: "a", Qty: 2, ListPrice: 1000, SalePrice: 800}, // 2000 list, 1600 sale
		{SKUID: "b", Qty: 1, ListPrice: 3333, SalePrice: 3333},
		{SKUID: "c", Qty: 3, ListPrice: 199, SalePrice: 99}, // 597 list, 297 sale
	}
}

func TestPipelineOrder(t *testing.T) {
	if _, err := New(Shipping{}, Sale{}); err == nil {
		t.Fatal("shipping before sale was accepted")
	}
	if _, err := New(Sale{}, Sale{}); err == nil {
		t.Fatal("a step twice was accepted")
	}
	if _, err := New(Sale{}, coupon{}, Shipping{}); err != nil {
		t.Fatal(err)
	}
}

func TestPrice(t *testing.T) {
	cases := []struct {
		name     string
		steps    []Step
		total    money.Fen
		shipping money.Fen
		amounts  []money.Fen
	}{
		{"list price only", nil, 5930, 0, []money.Fen{2000, 3333, 597}},
		{"sale", []Step{Sale{}}, 5230, 0, []money.Fen{1600, 3333, 297}},
		{"sale and shipping under the threshold", []Step{Sale{}, Shipping{Fee: 800, FreeOver: 9900}}, 6030, 800, []money.Fen{1600, 3333, 297}},
		{"free shipping at the threshold", []Step{Sale{}, Shipping{Fee: 800, FreeOver: 5230}}, 5230, 0, []money.Fen{1600, 3333, 297}},
		// 1000 off 5230 split 1600:3333:297 -> 305.9, 637.3, 56.8 -> 305, 637, 56 + 2 fen by remainder
		{"order discount split by largest remainder", []Step{Sale{}, coupon{off: 1000}}, 4230, 0, []money.Fen{1294, 2696, 240}},
		{"discount capped at the goods", []Step{Sale{}, coupon{off: 999999}}, 0, 0, []money.Fen{0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(c.steps...)
			if err != nil {
				t.Fatal(err)
			}
			q, err := p.Price(context.Background(), lines())
			if err != nil {
				t.Fatal(err)
			}
			var sum money.Fen
			for i, l := range q.Lines {
				if l.Amount != c.amounts[i] {
					t.Errorf("line %s amount = %d, want %d", l.SKUID, l.Amount, c.amounts[i])
				}
				var adj money.Fen
				for _, a := range l.Adjustments {
					adj += a.Amount
				}
				if l.ListPrice.Mul(l.Qty)-adj != l.Amount {
					t.Errorf("line %s: list %d - adjustments %d != amount %d", l.SKUID, l.ListPrice.Mul(l.Qty), adj, l.Amount)
				}
				sum += l.Amount
			}
			if q.Total != c.total || q.Shipping != c.shipping || sum+q.Shipping != q.Total || q.Subtotal-q.Discount != sum {
				t.Fatalf("quote %+v does not add up (lines sum %d)", q, sum)
			}
		})
	}
}

func TestStepErrorStopsThePipeline(t *testing.T) {
	p, err := New(Sale{}, failing{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Price(context.Background(), lines()); err == nil {
		t.Fatal("a failing step did not fail the price")
	}
}

func TestTakeOffEligibleLinesOnly(t *testing.T) {
	p, _ := New(Sale{})
	q, _ := p.Price(context.Background(), lines())
	took := q.TakeOff(StepCoupon, 100, "", func(l Line) bool { return l.SKUID != "b" })
	if took != 100 || q.Lines[1].Amount != 3333 {
		t.Fatalf("took %d; line b = %d; want 100 off a and c only", took, q.Lines[1].Amount)
	}
	if q.Lines[0].Amount+q.Lines[2].Amount != 1600+297-100 {
		t.Fatalf("a and c = %d, %d", q.Lines[0].Amount, q.Lines[2].Amount)
	}
}
