package order

import (
	"fmt"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Run is a number of units of one line sold at one unit price: a presale
// sells the units of one purchase at the price steps they fall on (units
// 99 and 100 at 99.00, 101 and 102 at 109.00), so a line's units may cost
// different prices.
type Run struct {
	Qty   int       `json:"qty"`
	Price money.Fen `json:"price"`
}

// ActivityHoldsStock reports whether an activity of this kind, not its
// order, holds the order's stock. A presale reserves the units when they are
// bought and commits them when the balance is paid, days apart and across
// two orders (the deposit's and the balance's), so placing, closing or
// paying either order must move none of them.
func ActivityHoldsStock(kind string) bool {
	return kind == ActivityPresaleDeposit || kind == ActivityPresaleBalance
}

// ActivitySellsGoods reports whether an order of this kind sells its lines'
// goods. Every order does but a presale's deposit (定金): its lines name the
// goods the deposit secures, but it is not their sale (the balance order
// is), so it charges no shipping, never ships, and a refund of it gives no
// units back.
func ActivitySellsGoods(kind string) bool { return kind != ActivityPresaleDeposit }

func (o *Offer) holdsStock() bool { return o != nil && ActivityHoldsStock(o.Activity.Kind) }

// price returns a line's offer price and whether the offer prices the SKU
// at all (a unit price, or runs).
func (o *Offer) price(skuID string) (money.Fen, bool) {
	if _, ok := o.Runs[skuID]; ok {
		return 0, true
	}
	p, ok := o.Prices[skuID]
	return p, ok
}

// split expands each line the offer prices in runs into one pricing line
// per run, each at its run's unit price; from maps every expanded line back
// to the line it came from. Lines without runs pass through.
func (o *Offer) split(lines []pricing.Line) (out []pricing.Line, from []int, err error) {
	for i, l := range lines {
		runs := o.runsOf(l.SKUID)
		if runs == nil {
			out, from = append(out, l), append(from, i)
			continue
		}
		sum := 0
		for _, r := range runs {
			if r.Qty < 1 || r.Price < 0 {
				return nil, nil, fmt.Errorf("order: offer of %s: a run of %d units at %d fen", o.Activity.ID, r.Qty, r.Price)
			}
			sum += r.Qty
			part := l
			part.Qty, part.OfferPrice = r.Qty, r.Price
			out, from = append(out, part), append(from, i)
		}
		if sum != l.Qty {
			return nil, nil, fmt.Errorf("order: offer of %s: runs of %s add up to %d units, the line has %d",
				o.Activity.ID, l.SKUID, sum, l.Qty)
		}
	}
	return out, from, nil
}

func (o *Offer) runsOf(skuID string) []Run {
	if o == nil {
		return nil
	}
	return o.Runs[skuID]
}

// merge folds the priced runs of each line back into the one line they came
// from: quantities and amounts add up, and so do the adjustments of each
// step and reference, so the line still explains every fen. The quote's
// totals are sums over lines, which merging does not change.
func merge(q *pricing.Quote, from []int, n int) {
	if len(from) == n {
		return
	}
	out := make([]pricing.Line, n)
	seen := make([]bool, n)
	for k, l := range q.Lines {
		i := from[k]
		if !seen[i] {
			seen[i] = true
			l.Adjustments = append([]pricing.Adjustment(nil), l.Adjustments...)
			out[i] = l
			continue
		}
		m := &out[i]
		m.Qty += l.Qty
		m.Amount += l.Amount
		for _, a := range l.Adjustments {
			j := 0
			for j < len(m.Adjustments) && (m.Adjustments[j].Step != a.Step || m.Adjustments[j].Ref != a.Ref) {
				j++
			}
			if j == len(m.Adjustments) {
				m.Adjustments = append(m.Adjustments, a)
				continue
			}
			m.Adjustments[j].Amount += a.Amount
		}
	}
	q.Lines = out
}

// noShipping takes the shipping off the quote of an order that sells no
// goods (a presale's deposit): the goods ship, and are charged shipping,
// with the order that sells them. An activity's order takes no coupon, so
// no free-shipping coupon's saving is affected.
func (o *Offer) noShipping(q *pricing.Quote) {
	if o == nil || ActivitySellsGoods(o.Activity.Kind) || q.Shipping == 0 {
		return
	}
	q.Total -= q.Shipping
	q.Shipping = 0
}
