package rush

import (
	"sync"
	"time"
)

// Tally keeps what the answers of one sale said: who won which reservation,
// and when the sale sold out. It is the client's side of the books; the
// database's side is Truth, and Check compares the two.
type Tally struct {
	mu      sync.Mutex
	qty     int
	wins    map[string]*tallyWin // reservation id -> the win
	byAsk   map[askKey]string    // (buyer, request id) -> the reservation it won
	units   map[int]int          // buyer -> units won (distinct reservations)
	repeats int64                // won answers marked repeat
	// doubleWins counts requests (buyer, request id) answered with two
	// different reservations: a retry that won again.
	doubleWins int
	soldOutAt  time.Time // the first answer showing the pool empty
}

type tallyWin struct {
	buyer int
	qty   int
}

type askKey struct {
	buyer int
	id    string
}

// NewTally returns an empty tally for requests of qty units each.
func NewTally(qty int) *Tally {
	return &Tally{qty: qty, wins: map[string]*tallyWin{}, byAsk: map[askKey]string{}, units: map[int]int{}}
}

// Note records one answer to ask, received at.
func (t *Tally) Note(ask Ask, a BuyAnswer, at time.Time) {
	if a.Err != nil || a.Status != 200 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch a.Outcome {
	case "won":
		if a.Repeat {
			t.repeats++
		}
		k := askKey{ask.Buyer, ask.RequestID}
		if prev, ok := t.byAsk[k]; ok && prev != a.ReservationID {
			t.doubleWins++
		} else if !ok {
			t.byAsk[k] = a.ReservationID
		}
		if _, ok := t.wins[a.ReservationID]; !ok {
			t.wins[a.ReservationID] = &tallyWin{buyer: ask.Buyer, qty: t.qty}
			t.units[ask.Buyer] += t.qty
		}
		if a.Left == 0 && !a.Repeat {
			t.soldOut(at)
		}
	case "sold_out":
		t.soldOut(at)
	}
}

func (t *Tally) soldOut(at time.Time) {
	if t.soldOutAt.IsZero() || at.Before(t.soldOutAt) {
		t.soldOutAt = at
	}
}

// SoldOutAt is when the first answer showed the pool empty (zero if none).
func (t *Tally) SoldOutAt() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.soldOutAt
}

// Summary is the tally's figures.
type Summary struct {
	Winners    int   // distinct reservations won
	Units      int   // units they hold
	Repeats    int64 // won answers that were repeats of an earlier win
	DoubleWins int   // requests that won two different reservations
	// OverLimit is buyers whose distinct wins exceed limit.
	OverLimit int
	// Reservations is every reservation id the answers gave, with its
	// buyer's index.
	Reservations map[string]int
	// BuyerUnits is units won per buyer index.
	BuyerUnits map[int]int
}

// Summary returns the figures, judging the per-buyer limit against limit.
func (t *Tally) Summary(limit int) Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Summary{Winners: len(t.wins), Repeats: t.repeats, DoubleWins: t.doubleWins,
		Reservations: make(map[string]int, len(t.wins)), BuyerUnits: make(map[int]int, len(t.units))}
	for id, w := range t.wins {
		s.Units += w.qty
		s.Reservations[id] = w.buyer
	}
	for b, u := range t.units {
		s.BuyerUnits[b] = u
		if u > limit {
			s.OverLimit++
		}
	}
	return s
}
