package flashsale

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// Memory is the embedded mode's Reserver: the state of every SKU lives in
// this process, so it is right for one process only (several replicas must
// share a Redis). It takes no lock: the buyer's count and the units left are
// each moved by compare-and-swap, buyer first, and the buyer's step is undone
// if the stock step fails. So no unit is ever sold twice and no buyer passes
// the limit; the one imprecision is a buyer racing himself at sell-out, who
// may be told limit_reached where sold_out was the truth: he loses either way.
type Memory struct {
	clock clock.Clock
	skus  sync.Map // skuKey -> *memSKU
}

type skuKey struct{ session, sku string }

type memSKU struct {
	startsAt, endsAt int64 // unix nanoseconds
	limit            int64
	left             atomic.Int64
	buyers           sync.Map // buyer id -> *atomic.Int64
}

// NewMemory returns an empty in-process Reserver; Load gives it sessions.
func NewMemory(c clock.Clock) *Memory {
	if c == nil {
		c = clock.Real{}
	}
	return &Memory{clock: c}
}

func (m *Memory) Reserve(_ context.Context, sessionID, skuID, buyerID string, qty int) (Result, error) {
	if err := CheckQty(qty); err != nil {
		return Result{}, err
	}
	v, ok := m.skus.Load(skuKey{sessionID, skuID})
	if !ok {
		return Result{Outcome: NotOpen}, nil
	}
	s := v.(*memSKU)
	q := int64(qty)
	// The sold-out check first: after sell-out every request ends here, on
	// one atomic load.
	left := s.left.Load()
	if left < q {
		return Result{Outcome: SoldOut, Left: int(left)}, nil
	}
	now := m.clock.Now().UnixNano()
	if now < s.startsAt {
		return Result{Outcome: NotOpen, Left: int(left)}, nil
	}
	if now >= s.endsAt {
		return Result{Outcome: Ended, Left: int(left)}, nil
	}
	b := s.buyer(buyerID)
	var held int64
	for {
		held = b.Load()
		if held+q > s.limit {
			return Result{Outcome: LimitReached, Left: int(s.left.Load()), Held: int(held)}, nil
		}
		if b.CompareAndSwap(held, held+q) {
			break
		}
	}
	for {
		left = s.left.Load()
		if left < q {
			b.Add(-q)
			return Result{Outcome: SoldOut, Left: int(left), Held: int(held)}, nil
		}
		if s.left.CompareAndSwap(left, left-q) {
			return Result{Outcome: Won, Left: int(left - q), Held: int(held + q)}, nil
		}
	}
}

func (m *Memory) Release(_ context.Context, sessionID, skuID, buyerID string, qty int) error {
	if err := CheckQty(qty); err != nil {
		return err
	}
	v, ok := m.skus.Load(skuKey{sessionID, skuID})
	if !ok {
		return ErrNothingHeld
	}
	s := v.(*memSKU)
	bv, ok := s.buyers.Load(buyerID)
	if !ok {
		return ErrNothingHeld
	}
	b := bv.(*atomic.Int64)
	q := int64(qty)
	for {
		held := b.Load()
		if held < q {
			return ErrNothingHeld
		}
		if b.CompareAndSwap(held, held-q) {
			break
		}
	}
	s.left.Add(q)
	return nil
}

// Load replaces the state of the snapshot's SKUs. Reservations racing a Load
// act on the state it replaces and are lost with it; in the embedded mode a
// Load happens at start, before the gate opens.
func (m *Memory) Load(_ context.Context, snap Snapshot) error {
	if err := snap.Validate(); err != nil {
		return err
	}
	for _, k := range snap.SKUs {
		s := &memSKU{
			startsAt: snap.StartsAt.UnixNano(),
			endsAt:   snap.EndsAt.UnixNano(),
			limit:    int64(k.Limit),
		}
		s.left.Store(int64(k.Left()))
		for buyer, h := range k.Held {
			if h > 0 {
				c := new(atomic.Int64)
				c.Store(int64(h))
				s.buyers.Store(buyer, c)
			}
		}
		m.skus.Store(skuKey{snap.SessionID, k.SKUID}, s)
	}
	return nil
}

func (s *memSKU) buyer(id string) *atomic.Int64 {
	if v, ok := s.buyers.Load(id); ok {
		return v.(*atomic.Int64)
	}
	v, _ := s.buyers.LoadOrStore(id, new(atomic.Int64))
	return v.(*atomic.Int64)
}
