package httpapi

// groupBuyRoutes registers the group buy API, buyer and admin. SKELETON.
func (a *api) groupBuyRoutes() {}
