package app

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/share"
)

// wireGroupBuys builds the group buy service, registers its consumers (the
// order events that move seats) and its jobs (ending teams, settling and
// refunding seats), and lets a team be shared only while it can still be
// joined or is about to be.
func (a *App) wireGroupBuys() {
	a.GroupBuys = &groupbuy.Service{Store: a.Store, Orders: a.Orders, Refunds: a.Refunds, Catalog: a.Store,
		Clock: a.Clock, Log: a.Log}
	a.GroupBuys.RegisterConsumers(a.Events)
	a.GroupBuys.RegisterJobs(a.Jobs)

	prev := a.Shares.Exists
	a.Shares.Exists = func(ctx context.Context, kind share.TargetKind, id string) (share.Target, error) {
		if kind != share.Team {
			return prev(ctx, kind, id)
		}
		t, err := a.Store.Team(ctx, id)
		if errs.Is(err, groupbuy.ErrTeamNotFound.Code) {
			return share.Target{}, nil
		}
		if err != nil {
			return share.Target{}, err
		}
		return share.Target{Shareable: !t.Status.Ended(), ActivityID: t.ActivityID}, nil
	}
}
