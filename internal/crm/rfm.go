package crm

// Cell is a named region of the R x F grid.
type Cell string

// The cells. The mapping is the R x F grid of ten cells (champions,
// loyal, potential loyalist, new, promising, need attention, about to
// sleep, at risk, can't lose, hibernating) that circulates with RFM
// segmentation in marketing tools and the common "seg_map" of RFM
// notebooks: R and F scores 1-5 each, M left to segments (rfm.m in an
// expression) because the grid is read on two axes. It is a convention,
// not a standard body's; docs/crm.md shows the grid.
const (
	Champions         Cell = "champions"
	LoyalCustomers    Cell = "loyal"
	PotentialLoyalist Cell = "potential_loyalist"
	NewCustomers      Cell = "new"
	Promising         Cell = "promising"
	NeedAttention     Cell = "need_attention"
	AboutToSleep      Cell = "about_to_sleep"
	AtRisk            Cell = "at_risk"
	CantLose          Cell = "cant_lose"
	Hibernating       Cell = "hibernating"
	NoOrders          Cell = "" // no paid order in the window: not scored
)

// Cells lists the named cells.
var Cells = []Cell{Champions, LoyalCustomers, PotentialLoyalist, NewCustomers, Promising, NeedAttention,
	AboutToSleep, AtRisk, CantLose, Hibernating}

// CellOf names the cell of r's (R, F).
func CellOf(s RFM) Cell {
	r, f := s.R, s.F
	switch {
	case r < 1 || f < 1:
		return NoOrders
	case r <= 2 && f <= 2:
		return Hibernating
	case r <= 2 && f <= 4:
		return AtRisk
	case r <= 2:
		return CantLose
	case r == 3 && f <= 2:
		return AboutToSleep
	case r == 3 && f == 3:
		return NeedAttention
	case f >= 4 && r <= 4:
		return LoyalCustomers
	case r == 4 && f == 1:
		return Promising
	case r == 5 && f == 1:
		return NewCustomers
	case f <= 3:
		return PotentialLoyalist
	}
	return Champions
}

// Quintile is the score of the value ranked rank (1 = lowest, ties share
// the lowest rank) among n: 1 + 5*(rank-1)/n, in integers. Ties always get
// one score, so quintiles may be uneven when many buyers share a value
// (every one-order buyer has F = 1). The stores compute the same formula
// in SQL with rank() and count(*); this is its statement in Go, for tests.
func Quintile(rank, n int) int {
	if n < 1 || rank < 1 {
		return 0
	}
	return 1 + 5*(rank-1)/n
}
