package bargain

import (
	"slices"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Schedule is the cut schedule of a bargain from `from` down to floor in n
// helps: n cuts adding up exactly to from - floor, big early cuts and small
// late ones, each at least 1 fen when from - floor >= n.
//
// DOMAIN.md, "Bargain fairness": the schedule is deterministic and disclosed
// before the first share. So it is a pure function of the activity's terms:
// the same input gives the same cuts, there is no randomness, and a helper's
// account (new or old) has no say in their cut; a help takes the next slot.
//
// Each cut gets 1 fen, and the rest is split by largest remainder
// (money.Allocate, exact to the fen) over the weights (n-i)^2, so the first
// helpers see the price move most; the cuts are then sorted, largest first,
// since rounding can leave a later cut one fen above an earlier one.
func Schedule(from, floor money.Fen, n int) []money.Fen {
	total := from - floor
	if n <= 0 || total < 0 {
		return nil
	}
	base := money.Fen(1)
	if total < money.Fen(n) {
		base = 0 // refused by the activity's rules; still exact
	}
	weights := make([]money.Fen, n)
	for i := range weights {
		w := money.Fen(n - i)
		weights[i] = w * w
	}
	cuts := money.Allocate(total-base*money.Fen(n), weights)
	for i := range cuts {
		cuts[i] += base
	}
	slices.SortStableFunc(cuts, func(a, b money.Fen) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	return cuts
}
