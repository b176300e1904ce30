package pricing

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Points is what a buyer spends at checkout, as the points service
// resolved it: the pipeline only prices it.
type Points struct {
	Want int64     // points asked for (the service checked the buyer holds them)
	Unit money.Fen // what one point is worth
	Cap  money.BP  // the most of the goods amount points may pay
}

// PointsStep takes the points' value off the goods, after the coupon step
// (points pay what is left once every discount applied), split across the
// lines by largest remainder so refunds and commission bases stay exact.
// It takes at most Cap of the goods amount, in whole points: a buyer who
// asks for more spends only what the cap allows, and keeps the rest.
type PointsStep struct{}

func (PointsStep) Name() string { return StepPoints }

func (PointsStep) Apply(_ context.Context, q *Quote) error {
	p := q.Points
	if p == nil || p.Want <= 0 || p.Unit <= 0 {
		return nil
	}
	var goods money.Fen
	for _, l := range q.Lines {
		goods += l.Amount
	}
	// Rounded down, never up: the cap is a ceiling.
	most := int64(goods) * int64(p.Cap) / int64(money.Whole) / int64(p.Unit)
	n := min(p.Want, most)
	if n <= 0 {
		return nil
	}
	q.TakeOff(StepPoints, money.Fen(n)*p.Unit, "points", nil)
	q.PointsSpent = n
	return nil
}
