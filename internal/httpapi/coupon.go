package httpapi

// couponRoutes registers the coupon API, buyer and admin. SKELETON.
func (a *api) couponRoutes() {}
