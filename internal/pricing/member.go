package pricing

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Member is a member tier's benefits at checkout, as the membership
// service resolved them for the buyer.
type Member struct {
	Ref          string          // "member:<tier code>", named on the adjustments
	Rate         money.BP        // off the eligible goods
	FreeShipping bool            // the shipping fee waived
	SKUs         map[string]bool // the eligible lines; nil: every line
}

// MemberStep takes the tier's rate off the eligible lines, after the sale,
// limited-time and activity prices and before coupons, split by largest
// remainder; a tier with free shipping has the shipping step waive the fee.
type MemberStep struct{}

func (MemberStep) Name() string { return StepMember }

func (MemberStep) Apply(_ context.Context, q *Quote) error {
	m := q.Member
	if m == nil {
		return nil
	}
	if m.FreeShipping {
		q.FreeShippingBy = m.Ref
	}
	if m.Rate <= 0 {
		return nil
	}
	eligible := func(l Line) bool { return m.SKUs == nil || m.SKUs[l.SKUID] }
	var base money.Fen
	for _, l := range q.Lines {
		if eligible(l) {
			base += l.Amount
		}
	}
	q.TakeOff(StepMember, base.Rate(m.Rate), m.Ref, eligible)
	return nil
}
