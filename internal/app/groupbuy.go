package app

// wireGroupBuys builds the group buy service and registers its consumers
// and jobs. SKELETON.
func (a *App) wireGroupBuys() {}
