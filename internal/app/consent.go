package app

import (
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/datarights"
)

// wireConsent builds the consent service. It holds nothing but the store and
// the clock, so every copy answers alike from the store, and a withdrawal is
// seen by every replica's next question at once; another capability (a
// campaign) may build its own the same way: &consent.Service{Store, Clock}.
func (a *App) wireConsent() *consent.Service {
	return &consent.Service{Store: a.Store, Clock: a.Clock}
}

// wireDataRights builds export and erasure over the stores the export reads.
func (a *App) wireDataRights() *datarights.Service {
	return &datarights.Service{Store: a.Store, Consent: a.wireConsent(), Clock: a.Clock, Read: datarights.Readers{
		Identity: a.Store, Orders: a.Store, Coupons: a.Store, Shares: a.Store, Affiliates: a.Store}}
}
