package affiliate

import (
	"slices"
	"time"
)

// decideBinding is the binding rule: next may replace cur only as the
// program's mode says, and never binds a buyer to themselves or to a
// promoter below them (chain is next's promoter and the promoters above
// them: a buyer found in it would close a cycle). It returns ErrNoop to
// keep cur, and sets next's expiry when the mode has one.
func decideBinding(p Program, cur *Binding, next *Binding, chain []string) error {
	if next.PromoterID == next.BuyerID {
		return ErrSelfBinding
	}
	if slices.Contains(chain, next.BuyerID) {
		return ErrCycle
	}
	if p.Binding == FirstTouchExpiring {
		exp := next.BoundAt.AddDate(0, 0, p.BindDays)
		next.ExpiresAt = &exp
	}
	if cur == nil {
		return nil
	}
	switch p.Binding {
	case LastTouch:
		if cur.PromoterID == next.PromoterID || !next.BoundAt.After(cur.BoundAt) {
			return ErrNoop
		}
		return nil
	case FirstTouchExpiring:
		// A touch while the binding holds changes nothing, not even for
		// the same promoter: the window runs from the first touch, as the
		// buyer was told.
		if cur.ExpiresAt != nil && !next.BoundAt.Before(*cur.ExpiresAt) {
			return nil
		}
		return ErrNoop
	default:
		return ErrNoop
	}
}

// Expired reports whether the binding no longer holds at t.
func (b *Binding) Expired(t time.Time) bool { return b.ExpiresAt != nil && !t.Before(*b.ExpiresAt) }
