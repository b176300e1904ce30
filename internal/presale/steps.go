package presale

import (
	"math"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

// The price steps. By units, unit n (1-based, counted over every live or
// paid purchase of the SKU) costs the price of the last step starting at
// or before n; a purchase of several units pays each at its own step. By
// time, a purchase pays the step in force when it is made, for all its
// units. Nothing here depends on who buys: the same unit at the same time
// costs everyone the same (DOMAIN.md, "Prices").

// unitStep is the index of the step unit n falls on.
func (it *Item) unitStep(n int) int {
	s := 0
	for i, st := range it.Steps {
		if st.FromUnit <= n {
			s = i
		}
	}
	return s
}

// stepEnd is the last unit of step s (math.MaxInt32 for the last step).
func (it *Item) stepEnd(s int) int {
	if s+1 < len(it.Steps) {
		return it.Steps[s+1].FromUnit - 1
	}
	return math.MaxInt32
}

// timeStep is the index of the step in force at t: the last starting at or
// before it (the first step before the presale starts).
func (it *Item) timeStep(t time.Time) int {
	s := 0
	for i, st := range it.Steps {
		if st.FromTime != nil && !st.FromTime.After(t) {
			s = i
		}
	}
	return s
}

// Quote is the price of qty units bought when sold units are sold already,
// at now: the runs of unit prices, and the counts of units sold [From, To]
// at which the same units fall on the same steps. The purchase's claim
// succeeds only within that range, so whatever runs concurrently, every
// unit pays the step it is sold at.
type Quote struct {
	Runs     []order.Run
	From, To int
}

// Amount is what the quoted units cost.
func (q Quote) Amount() money.Fen {
	var sum money.Fen
	for _, r := range q.Runs {
		sum += r.Price.Mul(r.Qty)
	}
	return sum
}

// quote prices qty units of the item after sold, at now.
func (it *Item) quote(basis Basis, sold, qty int, now time.Time) Quote {
	if basis == ByTime {
		// The step is the time's, whatever the count: any count does.
		return Quote{Runs: []order.Run{{Qty: qty, Price: it.Steps[it.timeStep(now)].Price}}, From: 0, To: math.MaxInt32}
	}
	var runs []order.Run
	first, last := sold+1, sold+qty
	for n := first; n <= last; {
		s := it.unitStep(n)
		end := min(it.stepEnd(s), last)
		runs = append(runs, order.Run{Qty: end - n + 1, Price: it.Steps[s].Price})
		n = end + 1
	}
	if len(runs) > 1 {
		// The units straddle a step: only this very count puts the
		// boundary between the same two units.
		return Quote{Runs: runs, From: sold, To: sold}
	}
	s := it.unitStep(first)
	start, end := max(it.Steps[s].FromUnit, 1), it.stepEnd(s)
	to := math.MaxInt32
	if end != math.MaxInt32 {
		to = end - qty
	}
	return Quote{Runs: runs, From: start - 1, To: to}
}

// current is the unit price the next unit sells at now: the step of unit
// Sold+1, or the step in force.
func (it *Item) current(basis Basis, now time.Time) money.Fen {
	if basis == ByTime {
		return it.Steps[it.timeStep(now)].Price
	}
	return it.Steps[it.unitStep(it.Sold+1)].Price
}

// lowest is the lowest price of the item's steps.
func (it *Item) lowest() money.Fen {
	m := it.Steps[0].Price
	for _, st := range it.Steps[1:] {
		m = min(m, st.Price)
	}
	return m
}

// less takes a deposit per unit off every run: what the balance order
// charges for the same units.
func less(runs []order.Run, deposit money.Fen) []order.Run {
	out := make([]order.Run, len(runs))
	for i, r := range runs {
		out[i] = order.Run{Qty: r.Qty, Price: r.Price - deposit}
	}
	return out
}
