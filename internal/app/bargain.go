package app

// wireBargains builds the bargain service and registers its consumers and
// jobs. SKELETON.
func (a *App) wireBargains() {}
