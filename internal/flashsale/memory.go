package flashsale

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// Memory is the embedded mode's Reserver: the state of every SKU and the
// queue of wins live in this process, so it is right for one process only
// (several replicas must share a Redis). A process restart loses the state
// and the queue together, as a Redis restart without persistence does; the
// state is rebuilt from the database with Load.
//
// Each SKU has its own mutex: a decision is a few map operations under it,
// far below the cost of the HTTP request that asks for it. After sell-out a
// request reads one atomic and looks its ticket up under the read lock (a
// retry of a press that won must hear "won" again).
type Memory struct {
	clock clock.Clock
	skus  sync.Map // skuKey -> *memSKU

	mu       sync.Mutex
	queue    []Win            // won, not yet handed to a consumer
	inflight map[string][]Win // consumer -> handed out, not acknowledged
	notify   chan struct{}    // a token when the queue grows (buffered: one pending is enough)
	seq      atomic.Int64
}

type skuKey struct{ session, sku string }

type memSKU struct {
	mu               sync.RWMutex
	startsAt, endsAt int64 // unix nanoseconds
	limit            int
	left             atomic.Int64
	buyers           map[string]int
	tickets          map[string]Hold
}

// NewMemory returns an empty in-process Reserver; Load gives it sessions.
func NewMemory(c clock.Clock) *Memory {
	if c == nil {
		c = clock.Real{}
	}
	return &Memory{clock: c, inflight: map[string][]Win{}, notify: make(chan struct{}, 1)}
}

func (m *Memory) Reserve(_ context.Context, c Claim) (Result, error) {
	if err := c.Check(); err != nil {
		return Result{}, err
	}
	v, ok := m.skus.Load(skuKey{c.SessionID, c.SKUID})
	if !ok {
		return Result{Outcome: NotOpen}, nil
	}
	s := v.(*memSKU)
	// The sold-out check first, without the lock: after sell-out every
	// request ends here, unless it repeats a ticket that won (a retry
	// after a lost answer must hear "won" again, not "sold out").
	if left := s.left.Load(); left < int64(c.Qty) {
		s.mu.RLock()
		_, won := s.tickets[c.Ticket]
		s.mu.RUnlock()
		if !won {
			return Result{Outcome: SoldOut, Left: int(left)}, nil
		}
	}
	now := m.clock.Now()
	s.mu.Lock()
	res := s.reserve(c, now.UnixNano())
	s.mu.Unlock()
	if res.Outcome == Won && !res.Repeat {
		m.enqueue(Win{Claim: c, At: now})
	}
	return res, nil
}

func (s *memSKU) reserve(c Claim, now int64) Result {
	left := int(s.left.Load())
	if h, ok := s.tickets[c.Ticket]; ok {
		return Result{Outcome: Won, Left: left, Held: s.buyers[h.BuyerID], Repeat: true}
	}
	switch {
	case now < s.startsAt:
		return Result{Outcome: NotOpen, Left: left}
	case now >= s.endsAt:
		return Result{Outcome: Ended, Left: left}
	case left < c.Qty:
		return Result{Outcome: SoldOut, Left: left}
	}
	held := s.buyers[c.BuyerID]
	if held+c.Qty > s.limit {
		return Result{Outcome: LimitReached, Left: left, Held: held}
	}
	s.buyers[c.BuyerID] = held + c.Qty
	s.tickets[c.Ticket] = Hold{Ticket: c.Ticket, BuyerID: c.BuyerID, Qty: c.Qty}
	s.left.Add(-int64(c.Qty))
	return Result{Outcome: Won, Left: left - c.Qty, Held: held + c.Qty}
}

func (m *Memory) Release(_ context.Context, sessionID, skuID, ticket string) error {
	v, ok := m.skus.Load(skuKey{sessionID, skuID})
	if !ok {
		return ErrNothingHeld
	}
	s := v.(*memSKU)
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.tickets[ticket]
	if !ok {
		return ErrNothingHeld
	}
	delete(s.tickets, ticket)
	if s.buyers[h.BuyerID] -= h.Qty; s.buyers[h.BuyerID] <= 0 {
		delete(s.buyers, h.BuyerID)
	}
	s.left.Add(int64(h.Qty))
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
		m.skus.Store(skuKey{snap.SessionID, k.SKUID}, newMemSKU(snap, k))
	}
	return nil
}

func (m *Memory) Ensure(_ context.Context, snap Snapshot) (int, error) {
	if err := snap.Validate(); err != nil {
		return 0, err
	}
	n := 0
	for _, k := range snap.SKUs {
		if _, loaded := m.skus.LoadOrStore(skuKey{snap.SessionID, k.SKUID}, newMemSKU(snap, k)); !loaded {
			n++
		}
	}
	return n, nil
}

func newMemSKU(snap Snapshot, k SKUState) *memSKU {
	s := &memSKU{
		startsAt: snap.StartsAt.UnixNano(), endsAt: snap.EndsAt.UnixNano(), limit: k.Limit,
		buyers: k.Held(), tickets: make(map[string]Hold, len(k.Holds)),
	}
	for _, h := range k.Holds {
		s.tickets[h.Ticket] = h
	}
	s.left.Store(int64(k.Left()))
	return s
}

func (m *Memory) enqueue(w Win) {
	m.mu.Lock()
	w.Ref = strconv.FormatInt(m.seq.Add(1), 10)
	m.queue = append(m.queue, w)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

func (m *Memory) Wins(ctx context.Context, consumer string, max int, wait time.Duration) ([]Win, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		m.mu.Lock()
		if pending := m.inflight[consumer]; len(pending) > 0 {
			out := append([]Win(nil), pending[:min(max, len(pending))]...)
			m.mu.Unlock()
			return out, nil
		}
		if len(m.queue) > 0 {
			n := min(max, len(m.queue))
			out := append([]Win(nil), m.queue[:n]...)
			m.queue = m.queue[n:]
			m.inflight[consumer] = out
			m.mu.Unlock()
			return out, nil
		}
		m.mu.Unlock()
		select {
		case <-m.notify:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (m *Memory) Ack(_ context.Context, wins []Win) error {
	done := make(map[string]bool, len(wins))
	for _, w := range wins {
		done[w.Ref] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for c, pending := range m.inflight {
		kept := pending[:0]
		for _, w := range pending {
			if !done[w.Ref] {
				kept = append(kept, w)
			}
		}
		if len(kept) == 0 {
			delete(m.inflight, c)
		} else {
			m.inflight[c] = kept
		}
	}
	return nil
}
