package pricing

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Sale takes each line from its list price down to the shop's sale price.
type Sale struct{}

func (Sale) Name() string { return StepSale }

func (Sale) Apply(_ context.Context, q *Quote) error {
	for i, l := range q.Lines {
		if off := (l.ListPrice - l.SalePrice).Mul(l.Qty); off > 0 {
			q.TakeOffLine(i, StepSale, off, "")
		}
	}
	return nil
}

// Activity takes each line with an offer down to the activity's unit
// price. An offer above what the line costs already takes nothing: the
// buyer never pays more for joining an activity.
type Activity struct{}

func (Activity) Name() string { return StepActivity }

func (Activity) Apply(_ context.Context, q *Quote) error {
	for i, l := range q.Lines {
		if l.OfferRef == "" {
			continue
		}
		if off := l.Amount - l.OfferPrice.Mul(l.Qty); off > 0 {
			q.TakeOffLine(i, StepActivity, off, l.OfferRef)
		}
	}
	return nil
}

// Shipping charges a flat fee, waived when the goods cost at least FreeOver
// or when the buyer applies a free-shipping coupon.
type Shipping struct {
	Fee      money.Fen
	FreeOver money.Fen // 0: never free
}

func (Shipping) Name() string { return StepShipping }

func (s Shipping) Apply(_ context.Context, q *Quote) error {
	var goods money.Fen
	for _, l := range q.Lines {
		goods += l.Amount
	}
	q.Shipping = s.Fee
	if s.FreeOver > 0 && goods >= s.FreeOver {
		q.Shipping = 0
	}
	if q.FreeShippingBy != "" && q.Shipping > 0 {
		q.saved(q.FreeShippingBy, q.Shipping)
		q.Shipping = 0
	}
	return nil
}
