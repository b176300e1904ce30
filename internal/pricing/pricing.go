// Package pricing turns lines into amounts through an explicit pipeline of
// ordered steps: list price -> sale price -> limited-time price -> activity
// price -> member tier -> coupon -> points -> shipping. Each step records what it took off
// each line, and any order-level amount is split across lines by largest
// remainder, so line amounts always add up to the order total, to the fen.
// Later capabilities (activities, coupons, points) plug in as steps.
//
// Nothing here looks at who the buyer is beyond what they chose to apply (a
// coupon they hold, points they spend): a displayed price does not depend on
// who is looking (DOMAIN.md, "Prices").
package pricing

import (
	"context"
	"fmt"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Step names, in pipeline order. The rank of a step is its index here.
const (
	StepSale        = "sale"         // the shop's price below the list price
	StepLimitedTime = "limited_time" // a limited-time price (限时抢购) in force: see LimitedTime
	StepActivity    = "activity"     // group buy, bargain, flash sale
	StepMember      = "member"       // a member tier's discount: see MemberStep
	StepCoupon      = "coupon"
	StepPoints      = "points"
	StepShipping    = "shipping"
)

var rank = map[string]int{StepSale: 1, StepLimitedTime: 2, StepActivity: 3, StepMember: 4, StepCoupon: 5, StepPoints: 6, StepShipping: 7}

// Adjustment is what one step took off one line (a positive amount is a
// discount).
type Adjustment struct {
	Step   string    `json:"step"`
	Amount money.Fen `json:"amount"`
	Ref    string    `json:"ref,omitempty"` // the activity, coupon, ... that gave it
}

// Line is one priced line.
type Line struct {
	SKUID       string       `json:"sku_id"`
	Qty         int          `json:"qty"`
	ListPrice   money.Fen    `json:"list_price"` // unit
	SalePrice   money.Fen    `json:"sale_price"` // unit
	Amount      money.Fen    `json:"amount"`     // what the line costs now, after the steps so far
	Adjustments []Adjustment `json:"adjustments,omitempty"`
	// OfferPrice is an activity's unit price for the line (a team's tier,
	// a bargain's reach), set by the server from the activity's rules when
	// OfferRef, the activity, is set.
	OfferPrice money.Fen `json:"-"`
	OfferRef   string    `json:"-"`
}

// Quote is the result of the pipeline.
type Quote struct {
	Lines    []Line    `json:"lines"`
	Subtotal money.Fen `json:"subtotal"` // sum of list price x qty
	Discount money.Fen `json:"discount"` // everything the steps took off the lines
	Shipping money.Fen `json:"shipping"`
	Total    money.Fen `json:"total"` // sum of line amounts + shipping

	// Coupons are the coupons the buyer applies, as the coupon service
	// resolved them; the coupon step applies them in this order.
	Coupons []Coupon `json:"-"`
	// FreeShippingBy is the free-shipping coupon the shipping step honours.
	FreeShippingBy string `json:"-"`
	// Savings is what each coupon saved: its line adjustments, or the
	// shipping it waived. A coupon's budget is spent by this amount.
	Savings map[string]money.Fen `json:"-"`
	// Points are the points the buyer spends (the points step's input);
	// PointsSpent is how many the step took, never more than asked.
	Points      *Points `json:"-"`
	PointsSpent int64   `json:"-"`
	// Member is the buyer's tier benefits (the member step's input).
	Member *Member `json:"-"`
}

// Step is one stage of the pipeline.
type Step interface {
	Name() string
	Apply(ctx context.Context, q *Quote) error
}

// Pipeline runs steps in their fixed order.
type Pipeline struct{ steps []Step }

// New builds a pipeline; steps must be given in pipeline order, each at most
// once, and only known step names are accepted.
func New(steps ...Step) (*Pipeline, error) {
	last := 0
	for _, s := range steps {
		r, ok := rank[s.Name()]
		if !ok {
			return nil, fmt.Errorf("pricing: unknown step %q", s.Name())
		}
		if r <= last {
			return nil, fmt.Errorf("pricing: step %q out of order", s.Name())
		}
		last = r
	}
	return &Pipeline{steps: steps}, nil
}

// Price runs the pipeline over lines, which carry SKU, quantity and unit
// list and sale prices, with the coupons the buyer applies (resolved by the
// coupon service; a pipeline without a coupon step refuses them).
func (p *Pipeline) Price(ctx context.Context, lines []Line, coupons ...Coupon) (*Quote, error) {
	return p.PriceWith(ctx, lines, Extra{}, coupons...)
}

// Extra is what a checkout adds to the lines beyond coupons: points the
// buyer spends, the buyer's member tier benefits (nil: none).
type Extra struct {
	Points *Points
	Member *Member
}

// PriceWith is Price with x (a pipeline without a points step refuses
// points).
func (p *Pipeline) PriceWith(ctx context.Context, lines []Line, x Extra, coupons ...Coupon) (*Quote, error) {
	pts := x.Points
	if len(coupons) > 0 && !p.has(StepCoupon) {
		return nil, fmt.Errorf("pricing: coupons given to a pipeline without a coupon step")
	}
	if pts != nil && !p.has(StepPoints) {
		return nil, fmt.Errorf("pricing: points given to a pipeline without a points step")
	}
	q := &Quote{Lines: make([]Line, len(lines)), Coupons: coupons, Points: pts, Member: x.Member}
	for i, l := range lines {
		l.Amount = l.ListPrice.Mul(l.Qty)
		l.Adjustments = nil
		q.Lines[i] = l
		q.Subtotal += l.Amount
	}
	for _, s := range p.steps {
		if err := s.Apply(ctx, q); err != nil {
			return nil, err
		}
	}
	q.total()
	return q, nil
}

func (p *Pipeline) has(step string) bool {
	for _, s := range p.steps {
		if s.Name() == step {
			return true
		}
	}
	return false
}

// saved records what a coupon saved.
func (q *Quote) saved(ref string, amount money.Fen) {
	if q.Savings == nil {
		q.Savings = map[string]money.Fen{}
	}
	q.Savings[ref] += amount
}

func (q *Quote) total() {
	var sum money.Fen
	for _, l := range q.Lines {
		sum += l.Amount
	}
	q.Discount = q.Subtotal - sum
	q.Total = sum + q.Shipping
}

// TakeOffLine records a discount on one line, never taking it below zero; it
// returns what was actually taken.
func (q *Quote) TakeOffLine(i int, step string, amount money.Fen, ref string) money.Fen {
	l := &q.Lines[i]
	if amount > l.Amount {
		amount = l.Amount
	}
	if amount <= 0 {
		return 0
	}
	l.Amount -= amount
	l.Adjustments = append(l.Adjustments, Adjustment{Step: step, Amount: amount, Ref: ref})
	return amount
}

// TakeOff splits an order-level discount across the eligible lines in
// proportion to what they cost now, by largest remainder, capped at what
// they cost in total. It returns what was taken. A nil eligible means all.
func (q *Quote) TakeOff(step string, amount money.Fen, ref string, eligible func(Line) bool) money.Fen {
	var idx []int
	var weights []money.Fen
	var base money.Fen
	for i, l := range q.Lines {
		if eligible == nil || eligible(l) {
			idx = append(idx, i)
			weights = append(weights, l.Amount)
			base += l.Amount
		}
	}
	if amount > base {
		amount = base
	}
	if amount <= 0 {
		return 0
	}
	for k, part := range money.Allocate(amount, weights) {
		q.TakeOffLine(idx[k], step, part, ref)
	}
	return amount
}
