package httpapi

// bargainRoutes registers the bargain API, buyer and admin. SKELETON.
func (a *api) bargainRoutes() {}
