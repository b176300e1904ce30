package pricing

import (
	"context"
	"slices"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// LimitedPrice is a limited-time price (限时抢购) in force for a SKU: the
// unit price, and Ref, the window that sets it (it names the adjustment).
type LimitedPrice struct {
	Price money.Fen
	Ref   string
}

// LimitedPrices finds the limited-time prices in force at an instant
// (package pricewindow keeps them).
type LimitedPrices interface {
	// LimitedPrices returns the price in force at `at` for each SKU that
	// has one; a SKU without one is absent.
	LimitedPrices(ctx context.Context, skuIDs []string, at time.Time) (map[string]LimitedPrice, error)
}

// LimitedTime takes each line whose SKU has a limited-time price in force
// down to that price, priced at the instant the pipeline runs by Clock (an
// order, a cart and a coupon suggestion all see the same window). It runs
// after the sale step and before the activity step:
//
//   - Prices never stack. Each step sets an absolute unit price and only
//     ever takes a line down to it, so a line costs the lowest of its sale
//     price, the limited-time price and an activity's offer, never one
//     discount taken off another.
//   - An activity's offer (a team's tier, a bargain's reach) is its whole
//     price: when it is lower it wins, and the activity step takes the line
//     from the limited-time price down to the offer. When the limited-time
//     price is lower still, the activity takes nothing: a buyer never pays
//     more for joining an activity than for buying the SKU plainly.
//   - A limited-time price at or above what the line costs already (the
//     sale price was lowered under it since) takes nothing.
type LimitedTime struct {
	Prices LimitedPrices
	Clock  clock.Clock
}

func (LimitedTime) Name() string { return StepLimitedTime }

func (s LimitedTime) Apply(ctx context.Context, q *Quote) error {
	if len(q.Lines) == 0 {
		return nil
	}
	skuIDs := make([]string, 0, len(q.Lines))
	for _, l := range q.Lines {
		if !slices.Contains(skuIDs, l.SKUID) {
			skuIDs = append(skuIDs, l.SKUID)
		}
	}
	prices, err := s.Prices.LimitedPrices(ctx, skuIDs, s.Clock.Now())
	if err != nil {
		return err
	}
	for i, l := range q.Lines {
		lp, ok := prices[l.SKUID]
		if !ok {
			continue
		}
		if off := l.Amount - lp.Price.Mul(l.Qty); off > 0 {
			q.TakeOffLine(i, StepLimitedTime, off, lp.Ref)
		}
	}
	return nil
}

// ShelfPrices is the unit price of each SKU now as the shop asks it of
// everyone: the lines' list prices through the steps before the activity
// step (the sale price, a limited-time price in force), with no activity
// offer and nothing of the buyer's own. A cart shows it and checks what the
// buyer saw against it. Lines are one per SKU; their quantity is ignored.
func (p *Pipeline) ShelfPrices(ctx context.Context, lines []Line) (map[string]money.Fen, error) {
	q := &Quote{Lines: make([]Line, len(lines))}
	for i, l := range lines {
		l.Qty, l.OfferPrice, l.OfferRef, l.Adjustments = 1, 0, "", nil
		l.Amount = l.ListPrice
		q.Lines[i] = l
	}
	for _, s := range p.steps {
		if rank[s.Name()] >= rank[StepActivity] {
			break
		}
		if err := s.Apply(ctx, q); err != nil {
			return nil, err
		}
	}
	out := make(map[string]money.Fen, len(q.Lines))
	for _, l := range q.Lines {
		out[l.SKUID] = l.Amount
	}
	return out, nil
}
