// Package money holds siyu's money and rate types: amounts are integer fen
// and rates are basis points. No float ever touches an amount (DOMAIN.md,
// "Money and numbers"); splits use the largest-remainder method so the parts
// always add up to the whole, to the fen.
package money

import (
	"fmt"
	"sort"
)

// Fen is an amount of money in fen (1 yuan = 100 fen).
type Fen int64

// BP is a rate in basis points (1% = 100 bp, 100% = 10000 bp).
type BP int64

// Whole is 100% in basis points.
const Whole BP = 10000

// String formats the amount as yuan with two decimals, e.g. "12.34".
func (f Fen) String() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Mul returns f multiplied by a whole quantity.
func (f Fen) Mul(qty int) Fen { return f * Fen(qty) }

// Rate returns rate of f, rounded half up to the fen (half away from zero).
func (f Fen) Rate(rate BP) Fen {
	p := int64(f) * int64(rate)
	q, r := p/int64(Whole), p%int64(Whole)
	if r < 0 {
		r = -r
	}
	if 2*r >= int64(Whole) {
		if p < 0 {
			q--
		} else {
			q++
		}
	}
	return Fen(q)
}

// Allocate splits total across parts in proportion to weights using the
// largest-remainder method: every part gets the floor of its exact share, and
// the fen left over go one each to the parts with the largest remainders
// (ties to the earlier part). The result always sums to total. Weights must be
// non-negative; if they are all zero the total is split evenly.
//
// This is what keeps an order-level discount exact per line, so that a
// partial refund or a commission base computed from a line never drifts
// from the order total (the split bug of the mall systems in DOMAIN.md).
func Allocate(total Fen, weights []Fen) []Fen {
	n := len(weights)
	out := make([]Fen, n)
	if n == 0 {
		return out
	}
	var sum int64
	for _, w := range weights {
		if w < 0 {
			panic("money.Allocate: negative weight")
		}
		sum += int64(w)
	}
	if sum == 0 {
		weights = make([]Fen, n)
		for i := range weights {
			weights[i] = 1
		}
		sum = int64(n)
	}
	neg := total < 0
	t := int64(total)
	if neg {
		t = -t
	}
	type rem struct {
		i int
		r int64
	}
	rems := make([]rem, n)
	var given int64
	for i, w := range weights {
		// t*w fits in int64 for any realistic order (t < 9e10 fen with w < 1e8).
		share := t * int64(w)
		out[i] = Fen(share / sum)
		rems[i] = rem{i, share % sum}
		given += int64(out[i])
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := int64(0); k < t-given; k++ {
		out[rems[k].i]++
	}
	if neg {
		for i := range out {
			out[i] = -out[i]
		}
	}
	return out
}

// Sum adds up amounts.
func Sum(amounts []Fen) Fen {
	var s Fen
	for _, a := range amounts {
		s += a
	}
	return s
}
