package pricing

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// windows is a LimitedPrices in memory that remembers the instant asked.
type windows struct {
	prices map[string]LimitedPrice
	asked  time.Time
	err    error
}

func (w *windows) LimitedPrices(_ context.Context, skuIDs []string, at time.Time) (map[string]LimitedPrice, error) {
	w.asked = at
	out := map[string]LimitedPrice{}
	for _, id := range skuIDs {
		if p, ok := w.prices[id]; ok {
			out[id] = p
		}
	}
	return out, w.err
}

func TestLimitedTimeStep(t *testing.T) {
	t0 := time.Date(2031, 11, 11, 0, 0, 0, 0, time.UTC)
	ws := &windows{prices: map[string]LimitedPrice{
		"a": {Price: 700, Ref: "w-a"},  // below a's sale price of 800
		"b": {Price: 4000, Ref: "w-b"}, // above b's price: takes nothing
	}}
	step := LimitedTime{Prices: ws, Clock: clock.NewFake(t0)}
	if _, err := New(Sale{}, Activity{}, step); err == nil {
		t.Fatal("the limited-time step after the activity step was accepted")
	}
	cases := []struct {
		name    string
		offer   map[string]money.Fen // activity offers by SKU
		amounts []money.Fen
		adj     [][]Adjustment
	}{
		{"limited-time price below the sale price", nil, []money.Fen{1400, 3333, 297},
			[][]Adjustment{{{StepSale, 400, ""}, {StepLimitedTime, 200, "w-a"}}, nil, {{StepSale, 300, ""}}}},
		{"an activity's lower offer wins", map[string]money.Fen{"a": 600}, []money.Fen{1200, 3333, 297},
			[][]Adjustment{{{StepSale, 400, ""}, {StepLimitedTime, 200, "w-a"}, {StepActivity, 200, "act"}}, nil, {{StepSale, 300, ""}}}},
		{"a higher offer takes nothing: joining never costs more", map[string]money.Fen{"a": 750}, []money.Fen{1400, 3333, 297},
			[][]Adjustment{{{StepSale, 400, ""}, {StepLimitedTime, 200, "w-a"}}, nil, {{StepSale, 300, ""}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(Sale{}, step, Activity{})
			if err != nil {
				t.Fatal(err)
			}
			ls := lines()
			for i := range ls {
				if o, ok := c.offer[ls[i].SKUID]; ok {
					ls[i].OfferPrice, ls[i].OfferRef = o, "act"
				}
			}
			q, err := p.Price(context.Background(), ls)
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range q.Lines {
				if l.Amount != c.amounts[i] {
					t.Errorf("line %s amount %d, want %d", l.SKUID, l.Amount, c.amounts[i])
				}
				if !reflect.DeepEqual(l.Adjustments, c.adj[i]) {
					t.Errorf("line %s adjustments %+v, want %+v", l.SKUID, l.Adjustments, c.adj[i])
				}
			}
			if !ws.asked.Equal(t0) {
				t.Errorf("priced at %v, want the clock's %v", ws.asked, t0)
			}
		})
	}

	ws.err = errors.New("store down")
	p, _ := New(Sale{}, step)
	if _, err := p.Price(context.Background(), lines()); err == nil {
		t.Fatal("a failing lookup priced anyway")
	}
}

func TestShelfPrices(t *testing.T) {
	ws := &windows{prices: map[string]LimitedPrice{"a": {Price: 700, Ref: "w-a"}}}
	p, err := New(Sale{}, LimitedTime{Prices: ws, Clock: clock.NewFake(time.Now())}, Activity{}, coupon{off: 100}, Shipping{Fee: 800})
	if err != nil {
		t.Fatal(err)
	}
	ls := lines()
	ls[1].OfferPrice, ls[1].OfferRef = 1, "act" // an offer is never a shelf price
	got, err := p.ShelfPrices(context.Background(), ls)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]money.Fen{"a": 700, "b": 3333, "c": 99}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ShelfPrices = %v, want %v", got, want)
	}
	plain, _ := New(Sale{}, coupon{off: 100})
	if got, _ := plain.ShelfPrices(context.Background(), ls); got["a"] != 800 {
		t.Fatalf("without a limited-time step: %v", got)
	}
}
