package app

// wireCoupons builds the coupon service and registers its consumers and
// jobs. SKELETON.
func (a *App) wireCoupons() {}
