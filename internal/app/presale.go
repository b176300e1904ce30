package app

import (
	"github.com/siyu-commerce/siyu/internal/presale"
)

// wirePresales builds the presale service on the order, refund and ledger
// capabilities, lets the job runner end purchases whose balance window is
// over (forfeiting an unpaid balance's deposit), and the dispatcher follow
// the purchases' orders (paid, ended unpaid, refunded) and the refunds of
// their goods and deposits.
func (a *App) wirePresales() {
	a.Presales = &presale.Service{
		Store: a.Store, Catalog: a.Store, Orders: a.Orders, Refunds: a.Refunds, Book: a.Store,
		Clock: a.Clock, Log: a.Log,
	}
	a.Presales.RegisterJobs(a.Jobs)
	a.Presales.RegisterConsumers(a.Events)
}
