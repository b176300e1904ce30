package app

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/share"
)

// wireAffiliates builds the distribution service and registers its
// consumers and jobs. Withdrawals are paid by the WeChat Pay client's
// transfer to a wallet (the simulator's, in sandbox mode). A promoter page
// may be shared only for an approved promoter.
func (a *App) wireAffiliates() {
	a.Affiliates = &affiliate.Service{
		Store: a.Store, Orders: a.Store, Touches: a.Store, Book: a.Store, Audit: a.Store, Jobs: a.Store,
		Payouts: a.PayGateway, Payees: a.Identity, Clock: a.Clock, Log: a.Log,
	}
	a.Affiliates.RegisterConsumers(a.Events)
	a.Affiliates.RegisterJobs(a.Jobs)

	prev := a.Shares.Exists
	a.Shares.Exists = func(ctx context.Context, kind share.TargetKind, id string) (share.Target, error) {
		if kind != share.PromoterPage {
			return prev(ctx, kind, id)
		}
		ok, err := a.Affiliates.PromoterPageExists(ctx, id)
		return share.Target{Shareable: ok}, err
	}
}
