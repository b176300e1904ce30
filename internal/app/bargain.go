package app

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/share"
)

// wireBargains builds the bargain service with DOMAIN.md's defaults (the
// 8-12 hour window, 10 by default; the fraud thresholds of
// bargain.DefaultConfig), lets the job runner expire bargains and the
// dispatcher free the order of a bargain whose order closed unpaid and issue
// helpers their reward coupons (its Coupons are set by wireCoupons), and
// lets a bargain be shared only while it is open: a share of a finished
// bargain would ask friends to help for nothing.
func (a *App) wireBargains() {
	a.Bargains = &bargain.Service{
		Store: a.Store, Catalog: a.Store, Orders: a.Orders, Buyers: a.Store, Clock: a.Clock,
		Config: bargain.DefaultConfig, Log: a.Log,
	}
	a.Bargains.RegisterJobs(a.Jobs)
	a.Bargains.RegisterConsumers(a.Events)

	prev := a.Shares.Exists
	a.Shares.Exists = func(ctx context.Context, kind share.TargetKind, id string) (share.Target, error) {
		if kind != share.Bargain {
			return prev(ctx, kind, id)
		}
		b, err := a.Bargains.Bargain(ctx, id)
		if errs.KindOf(err) == errs.NotFound {
			return share.Target{}, nil
		}
		if err != nil {
			return share.Target{}, err
		}
		return share.Target{Shareable: b.Status == bargain.Open, ActivityID: b.ActivityID}, nil
	}
}
