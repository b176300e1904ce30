package app

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/points"
)

// wirePoints builds the points and membership services, lets checkout
// spend points and apply tier benefits through them (order.Service.Points
// and .Members), and registers their consumers: earning on paid orders,
// settling spends, reversing both on refunds; growth on payments and
// refunds, with the tier following.
func (a *App) wirePoints() {
	a.Points = &points.Service{Store: a.Store, Book: a.Store, Clock: a.Clock}
	a.Orders.Points = a.Points
	a.Points.RegisterConsumers(a.Events)
	a.Members = &membership.Service{Store: a.Store, Clock: a.Clock}
	a.Orders.Members = a.Members
	a.Members.RegisterConsumers(a.Events)
}

// loyaltyDaily is the points' and tiers' share of the daily housekeeping
// job (one a day across replicas): it books the breakage of lots past
// their expiry (expired lots stop counting at their expiry already, so the
// hour does not matter to buyers) and reviews the tiers of buyers above
// the lowest, which come down as the growth window slides past old
// spending. Both are idempotent and safe side by side (SKIP LOCKED
// batches, conditional tier moves), so a retried run repeats nothing.
func (a *App) loyaltyDaily(ctx context.Context) error {
	lots, err := a.Points.Expire(ctx)
	if err != nil {
		return err
	}
	buyers, err := a.Members.Review(ctx)
	if err != nil {
		return err
	}
	a.Log.Info("loyalty", "points_lots_expired", lots, "member_tiers_reviewed", buyers)
	return nil
}
