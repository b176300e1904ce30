// Package reservertest is the conformance suite every flashsale.Reserver
// must pass: the same table of outcomes and the same races, run against the
// in-process engine and the Redis one, so the embedded mode and the
// scaled-out mode sell exactly the same way.
package reservertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Engine builds the Reserver under test.
type Engine struct {
	// New returns a Reserver with no state that judges the gate by c.
	New func(t *testing.T, c clock.Clock) flashsale.Reserver
	// Wipe loses all of the engine's state the way production can (Redis:
	// FLUSHDB, as a restart without persistence does; in process: the
	// process restarts) and returns the Reserver to use afterwards.
	Wipe func(t *testing.T, r flashsale.Reserver, c clock.Clock) flashsale.Reserver
	// Replica, when set, returns a second Reserver on the same state, as
	// another replica would hold (Redis: another client process); the rush
	// case then spreads its buyers over both. Nil for the in-process engine.
	Replica func(t *testing.T, r flashsale.Reserver, c clock.Clock) flashsale.Reserver
}

var t0 = time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)

// Run runs the suite.
func Run(t *testing.T, e Engine) {
	t.Run("outcomes", func(t *testing.T) { outcomes(t, e) })
	t.Run("rush_5000_buyers_500_units", func(t *testing.T) { rushCase(t, e) })
	t.Run("release_makes_unit_winnable", func(t *testing.T) { releaseCase(t, e) })
	t.Run("rebuild_after_wipe", func(t *testing.T) { rebuildCase(t, e) })
	t.Run("queue_every_win_once", func(t *testing.T) { queueCase(t, e) })
	t.Run("ensure_keeps_a_sale_in_progress", func(t *testing.T) { ensureCase(t, e) })
	t.Run("load_refuses_oversold_snapshot", func(t *testing.T) {
		r := e.New(t, clock.NewFake(t0))
		err := r.Load(context.Background(), snapshot("s", 1, 1, holds(map[string]int{"a": 1, "b": 1})))
		if err == nil {
			t.Fatal("a snapshot holding 2 units of a quota of 1 was loaded")
		}
	})
}

// holds turns units per buyer into one hold (ticket) per buyer.
func holds(m map[string]int) []flashsale.Hold {
	var out []flashsale.Hold
	for b, n := range m {
		if n > 0 {
			out = append(out, flashsale.Hold{Ticket: "t-" + b, BuyerID: b, Qty: n})
		}
	}
	return out
}

func claim(s, sku, buyer, ticket string, qty int) flashsale.Claim {
	return flashsale.Claim{SessionID: s, SKUID: sku, BuyerID: buyer, Qty: qty, Ticket: ticket, Data: "addr-" + buyer}
}

// snapshot is a session open from t0 for an hour with one SKU "sku".
func snapshot(session string, quota, limit int, h []flashsale.Hold) flashsale.Snapshot {
	return flashsale.Snapshot{
		SessionID: session, StartsAt: t0, EndsAt: t0.Add(time.Hour),
		SKUs: []flashsale.SKUState{{SKUID: "sku", Quota: quota, Limit: limit, Holds: h}},
	}
}

func session() string { return "fs-" + ids.Token(6) }

func outcomes(t *testing.T, e Engine) {
	ctx := context.Background()
	c := clock.NewFake(t0.Add(-time.Minute))
	r := e.New(t, c)
	s := session()
	if err := r.Load(ctx, snapshot(s, 3, 2, nil)); err != nil {
		t.Fatal(err)
	}
	type step struct {
		name    string
		advance time.Duration
		sku     string
		buyer   string
		ticket  string
		qty     int
		release bool
		want    flashsale.Outcome
		repeat  bool
		left    int // checked when >= 0 and the outcome came from the engine
		err     error
	}
	steps := []step{
		{name: "before the gate", buyer: "a", ticket: "a0", qty: 1, want: flashsale.NotOpen, left: -1},
		{name: "unknown SKU", advance: time.Minute, sku: "nope", buyer: "a", ticket: "a0", qty: 1, want: flashsale.NotOpen, left: -1},
		{name: "zero quantity", buyer: "a", ticket: "a0", qty: 0, err: flashsale.ErrBadQuantity},
		{name: "no ticket", buyer: "a", qty: 1, err: flashsale.ErrNoTicket},
		{name: "first win", buyer: "a", ticket: "a1", qty: 1, want: flashsale.Won, left: 2},
		{name: "the same ticket again takes nothing", buyer: "a", ticket: "a1", qty: 1, want: flashsale.Won, repeat: true, left: 2},
		{name: "over the limit", buyer: "a", ticket: "a2", qty: 2, want: flashsale.LimitReached, left: 2},
		{name: "up to the limit", buyer: "a", ticket: "a3", qty: 1, want: flashsale.Won, left: 1},
		{name: "at the limit", buyer: "a", ticket: "a4", qty: 1, want: flashsale.LimitReached, left: 1},
		{name: "more than left", buyer: "b", ticket: "b1", qty: 2, want: flashsale.SoldOut, left: 1},
		{name: "last unit", buyer: "b", ticket: "b2", qty: 1, want: flashsale.Won, left: 0},
		{name: "sold out", buyer: "c", ticket: "c1", qty: 1, want: flashsale.SoldOut, left: -1},
		{name: "release of a ticket that lost", release: true, ticket: "b1", err: flashsale.ErrNothingHeld},
		{name: "release of an unknown ticket", release: true, ticket: "zz", err: flashsale.ErrNothingHeld},
		{name: "release", release: true, ticket: "a1"},
		{name: "release again mints nothing", release: true, ticket: "a1", err: flashsale.ErrNothingHeld},
		{name: "released unit won again", buyer: "c", ticket: "c2", qty: 1, want: flashsale.Won, left: 0},
		{name: "release after end is still taken", advance: time.Hour, release: true, ticket: "c2"},
		{name: "after the end", buyer: "d", ticket: "d1", qty: 1, want: flashsale.Ended, left: -1},
	}
	for _, st := range steps {
		c.Advance(st.advance)
		sku := st.sku
		if sku == "" {
			sku = "sku"
		}
		if st.release {
			err := r.Release(ctx, s, sku, st.ticket)
			if !errors.Is(err, st.err) {
				t.Fatalf("%s: release err = %v, want %v", st.name, err, st.err)
			}
			continue
		}
		res, err := r.Reserve(ctx, claim(s, sku, st.buyer, st.ticket, st.qty))
		if st.err != nil {
			if !errors.Is(err, st.err) {
				t.Fatalf("%s: err = %v, want %v", st.name, err, st.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Outcome != st.want || res.Repeat != st.repeat || (st.left >= 0 && res.Left != st.left) {
			t.Fatalf("%s: got %v (repeat %v) left %d, want %v (repeat %v) left %d", st.name, res.Outcome, res.Repeat, res.Left, st.want, st.repeat, st.left)
		}
	}
}

// rush runs buyers at once against one SKU; buyer i asks for 1 or 2 units;
// every third buyer sends the same request twice more (a retry after a lost
// answer: the same ticket) and every fifth sends a second request of its
// own (a double tap: a new ticket). It returns the tickets won, as the
// winners' orders would record them.
func rush(t *testing.T, r flashsale.Reserver, s string, buyers []string) []flashsale.Hold {
	return rushOn(t, []flashsale.Reserver{r}, s, buyers)
}

// rushOn is rush with the buyers spread over replicas; a buyer's retries go
// to the next replica, as a load balancer without affinity sends them.
func rushOn(t *testing.T, replicas []flashsale.Reserver, s string, buyers []string) []flashsale.Hold {
	t.Helper()
	ctx := context.Background()
	var (
		mu   sync.Mutex
		won  []flashsale.Hold
		wg   sync.WaitGroup
		fail = make(chan error, 1)
	)
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tickets []string
			for range 1 + 2*btoi(i%3 == 0) {
				tickets = append(tickets, b+"-1")
			}
			if i%5 == 0 {
				tickets = append(tickets, b+"-2")
			}
			qty := 1 + i%2
			for try, tk := range tickets {
				r := replicas[(i+try)%len(replicas)]
				res, err := r.Reserve(ctx, claim(s, "sku", b, tk, qty))
				if err != nil {
					select {
					case fail <- err:
					default:
					}
					return
				}
				if res.Outcome == flashsale.Won && !res.Repeat {
					mu.Lock()
					won = append(won, flashsale.Hold{Ticket: tk, BuyerID: b, Qty: qty})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-fail:
		t.Fatalf("reserve: %v", err)
	default:
	}
	return won
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func buyers(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}

// check asserts exactly quota units won, nobody above the limit, and no
// ticket twice.
func check(t *testing.T, won []flashsale.Hold, quota, limit int) {
	t.Helper()
	st := flashsale.SKUState{SKUID: "sku", Quota: quota, Limit: limit, Holds: won}
	for b, n := range st.Held() {
		if n > limit {
			t.Errorf("buyer %s holds %d units, limit %d", b, n, limit)
		}
	}
	seen := map[string]bool{}
	for _, h := range won {
		if seen[h.Ticket] {
			t.Errorf("ticket %s won twice", h.Ticket)
		}
		seen[h.Ticket] = true
	}
	if total := st.TotalHeld(); total != quota {
		t.Fatalf("%d units won of a quota of %d", total, quota)
	}
}

func rushCase(t *testing.T, e Engine) {
	c := clock.NewFake(t0)
	r := e.New(t, c)
	s := session()
	if err := r.Load(context.Background(), snapshot(s, 500, 2, nil)); err != nil {
		t.Fatal(err)
	}
	replicas := []flashsale.Reserver{r}
	if e.Replica != nil {
		replicas = append(replicas, e.Replica(t, r, c))
	}
	won := rushOn(t, replicas, s, buyers("b", 5000))
	check(t, won, 500, 2)
	res, err := r.Reserve(context.Background(), claim(s, "sku", "late", "late-1", 1))
	if err != nil || res.Outcome != flashsale.SoldOut {
		t.Fatalf("after the rush: %v %v, want sold_out", res.Outcome, err)
	}
}

func releaseCase(t *testing.T, e Engine) {
	ctx := context.Background()
	r := e.New(t, clock.NewFake(t0))
	s := session()
	if err := r.Load(ctx, snapshot(s, 500, 2, nil)); err != nil {
		t.Fatal(err)
	}
	won := rush(t, r, s, buyers("b", 5000))
	check(t, won, 500, 2)
	// The first 100 units' tickets come back, released concurrently and
	// each twice (an at-least-once consumer): the second release mints
	// nothing.
	released, kept := 0, []flashsale.Hold{}
	var gone []flashsale.Hold
	for _, h := range won {
		if released+h.Qty <= 100 {
			released += h.Qty
			gone = append(gone, h)
			continue
		}
		kept = append(kept, h)
	}
	var wg sync.WaitGroup
	var ok atomic.Int64
	for _, h := range append(gone, gone...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.Release(ctx, s, "sku", h.Ticket)
			if err == nil {
				ok.Add(1)
			} else if !errors.Is(err, flashsale.ErrNothingHeld) {
				t.Errorf("release: %v", err)
			}
		}()
	}
	wg.Wait()
	if int(ok.Load()) != len(gone) {
		t.Fatalf("%d releases took effect for %d tickets", ok.Load(), len(gone))
	}
	// They are winnable again, exactly once each, by a second wave.
	again := rush(t, r, s, buyers("w", 2000))
	if got := (flashsale.SKUState{Holds: again}).TotalHeld(); got != released {
		t.Fatalf("second wave won %d units, %d were released", got, released)
	}
	check(t, append(kept, again...), 500, 2)
}

func rebuildCase(t *testing.T, e Engine) {
	ctx := context.Background()
	c := clock.NewFake(t0)
	r := e.New(t, c)
	s := session()
	if err := r.Load(ctx, snapshot(s, 500, 2, nil)); err != nil {
		t.Fatal(err)
	}
	// A first wave sells part of the quota; the database records it.
	first := rush(t, r, s, buyers("b", 200))
	sold := (flashsale.SKUState{Holds: first}).TotalHeld()
	if sold == 0 || sold >= 500 {
		t.Fatalf("first wave sold %d units; the case needs a partial sale", sold)
	}
	r = e.Wipe(t, r, c)
	// An engine that lost its state refuses: it must not sell the quota again.
	res, err := r.Reserve(ctx, claim(s, "sku", "b00001", "x", 1))
	if err != nil || res.Outcome != flashsale.NotOpen {
		t.Fatalf("after the wipe: %v %v, want not_open", res.Outcome, err)
	}
	if n, err := r.Ensure(ctx, snapshot(s, 500, 2, first)); err != nil || n != 1 {
		t.Fatalf("ensure after the wipe: %d %v, want 1 SKU loaded", n, err)
	}
	// The same buyers come back with 4,800 more: the rest of the quota is
	// sold, not the whole of it, the first wave's holdings count against
	// the limit, and their tickets are repeats, not new wins.
	second := rush(t, r, s, buyers("b", 5000))
	check(t, append(first, second...), 500, 2)
	// A first-wave ticket can still be released after the rebuild.
	if err := r.Release(ctx, s, "sku", first[0].Ticket); err != nil {
		t.Fatalf("release of a rebuilt ticket: %v", err)
	}
}

// queueCase: every win is queued once, with what the claim carried; a
// consumer that does not acknowledge gets its wins back; acknowledged wins
// are gone; a repeat queues nothing.
func queueCase(t *testing.T, e Engine) {
	ctx := context.Background()
	r := e.New(t, clock.NewFake(t0))
	s := session()
	if err := r.Load(ctx, snapshot(s, 300, 2, nil)); err != nil {
		t.Fatal(err)
	}
	won := rush(t, r, s, buyers("q", 1000))
	check(t, won, 300, 2)
	drain := func(consumer string, ack bool) map[string]flashsale.Win {
		got := map[string]flashsale.Win{}
		for {
			wins, err := r.Wins(ctx, consumer, 64, 50*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if len(wins) == 0 {
				return got
			}
			for _, w := range wins {
				if _, dup := got[w.Ticket]; dup && ack {
					t.Fatalf("ticket %s delivered twice", w.Ticket)
				}
				got[w.Ticket] = w
			}
			if !ack {
				return got
			}
			if err := r.Ack(ctx, wins); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A writer takes a batch and dies before its Ack; restarted under its
	// name it gets the same batch back first.
	first := drain("w1", false)
	if len(first) == 0 {
		t.Fatal("no wins queued")
	}
	again := drain("w1", false)
	for tk := range first {
		if _, ok := again[tk]; !ok {
			t.Fatalf("unacknowledged win %s not handed back", tk)
		}
	}
	got := drain("w1", true)
	if len(got) != len(won) {
		t.Fatalf("%d wins queued, %d won", len(got), len(won))
	}
	for _, h := range won {
		w, ok := got[h.Ticket]
		if !ok || w.BuyerID != h.BuyerID || w.Qty != h.Qty || w.SessionID != s || w.SKUID != "sku" || w.Data != "addr-"+h.BuyerID || w.At.IsZero() {
			t.Fatalf("win %+v queued as %+v", h, w)
		}
	}
	if rest := drain("w2", true); len(rest) != 0 {
		t.Fatalf("%d acknowledged wins delivered again", len(rest))
	}
}

// ensureCase: Ensure, as every replica calls it at start, leaves a SKU with
// state alone and loads one without.
func ensureCase(t *testing.T, e Engine) {
	ctx := context.Background()
	r := e.New(t, clock.NewFake(t0))
	s := session()
	if err := r.Load(ctx, snapshot(s, 10, 2, nil)); err != nil {
		t.Fatal(err)
	}
	won := rush(t, r, s, buyers("e", 20))
	check(t, won, 10, 2)
	snap := snapshot(s, 10, 2, nil)
	snap.SKUs = append(snap.SKUs, flashsale.SKUState{SKUID: "sku2", Quota: 5, Limit: 1})
	if n, err := r.Ensure(ctx, snap); err != nil || n != 1 {
		t.Fatalf("ensure: %d %v, want only the new SKU loaded", n, err)
	}
	if res, err := r.Reserve(ctx, claim(s, "sku", "late", "late", 1)); err != nil || res.Outcome != flashsale.SoldOut {
		t.Fatalf("after ensure the sold-out SKU answered %v %v", res.Outcome, err)
	}
	if res, err := r.Reserve(ctx, claim(s, "sku2", "late", "late", 1)); err != nil || res.Outcome != flashsale.Won {
		t.Fatalf("the ensured SKU answered %v %v", res.Outcome, err)
	}
}
