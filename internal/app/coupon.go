package app

import "github.com/siyu-commerce/siyu/internal/coupon"

// wireCoupons builds the coupon service, lets checkout use coupons through
// it (order.Service.Coupons) and registers the consumers that give a
// coupon back when its order is cancelled, closed or refunded in full.
func (a *App) wireCoupons() {
	a.Coupons = &coupon.Service{Store: a.Store, Carts: a.Store, Catalog: a.Store, Pricing: a.Orders.Pricing, Clock: a.Clock}
	a.Orders.Coupons = a.Coupons
	a.Coupons.RegisterConsumers(a.Events)
}
