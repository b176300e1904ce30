// Package page holds the one page-size rule every listing applies: a size
// left unset is the listing's default, and no caller gets more than its
// maximum, so nobody can ask a store for an unbounded page.
package page

// Size is n, or def when n is unset (zero or less), at most max.
func Size(n, def, max int) int {
	if n <= 0 {
		return def
	}
	return min(n, max)
}
