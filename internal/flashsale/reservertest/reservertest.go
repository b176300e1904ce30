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
	t.Run("load_refuses_oversold_snapshot", func(t *testing.T) {
		r := e.New(t, clock.NewFake(t0))
		err := r.Load(context.Background(), snapshot("s", 1, 1, map[string]int{"a": 1, "b": 1}))
		if err == nil {
			t.Fatal("a snapshot holding 2 units of a quota of 1 was loaded")
		}
	})
}

// snapshot is a session open from t0 for an hour with one SKU "sku".
func snapshot(session string, quota, limit int, held map[string]int) flashsale.Snapshot {
	return flashsale.Snapshot{
		SessionID: session, StartsAt: t0, EndsAt: t0.Add(time.Hour),
		SKUs: []flashsale.SKUState{{SKUID: "sku", Quota: quota, Limit: limit, Held: held}},
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
		qty     int
		release bool
		want    flashsale.Outcome
		left    int // checked when >= 0 and the outcome came from the engine
		err     error
	}
	steps := []step{
		{name: "before the gate", buyer: "a", qty: 1, want: flashsale.NotOpen, left: -1},
		{name: "unknown SKU", advance: time.Minute, sku: "nope", buyer: "a", qty: 1, want: flashsale.NotOpen, left: -1},
		{name: "zero quantity", buyer: "a", qty: 0, err: flashsale.ErrBadQuantity},
		{name: "first win", buyer: "a", qty: 1, want: flashsale.Won, left: 2},
		{name: "over the limit", buyer: "a", qty: 2, want: flashsale.LimitReached, left: 2},
		{name: "up to the limit", buyer: "a", qty: 1, want: flashsale.Won, left: 1},
		{name: "at the limit", buyer: "a", qty: 1, want: flashsale.LimitReached, left: 1},
		{name: "more than left", buyer: "b", qty: 2, want: flashsale.SoldOut, left: 1},
		{name: "last unit", buyer: "b", qty: 1, want: flashsale.Won, left: 0},
		{name: "sold out", buyer: "c", qty: 1, want: flashsale.SoldOut, left: -1},
		{name: "release more than held", release: true, buyer: "b", qty: 2, err: flashsale.ErrNothingHeld},
		{name: "release by a buyer holding none", release: true, buyer: "c", qty: 1, err: flashsale.ErrNothingHeld},
		{name: "release", release: true, buyer: "a", qty: 1},
		{name: "released unit won again", buyer: "c", qty: 1, want: flashsale.Won, left: 0},
		{name: "release after end is still taken", advance: time.Hour, release: true, buyer: "c", qty: 1},
		{name: "after the end", buyer: "d", qty: 1, want: flashsale.Ended, left: -1},
	}
	for _, st := range steps {
		c.Advance(st.advance)
		sku := st.sku
		if sku == "" {
			sku = "sku"
		}
		if st.release {
			err := r.Release(ctx, s, sku, st.buyer, st.qty)
			if !errors.Is(err, st.err) {
				t.Fatalf("%s: release err = %v, want %v", st.name, err, st.err)
			}
			continue
		}
		res, err := r.Reserve(ctx, s, sku, st.buyer, st.qty)
		if st.err != nil {
			if !errors.Is(err, st.err) {
				t.Fatalf("%s: err = %v, want %v", st.name, err, st.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Outcome != st.want || (st.left >= 0 && res.Left != st.left) {
			t.Fatalf("%s: got %v left %d, want %v left %d", st.name, res.Outcome, res.Left, st.want, st.left)
		}
	}
}

// rush runs buyers at once against one SKU; buyer i asks for 1 or 2 units
// and every third buyer retries twice more (a double tap, a refresh). It
// returns the units won per buyer, as the winners' orders would record them.
func rush(t *testing.T, r flashsale.Reserver, s string, buyers []string) map[string]int {
	return rushOn(t, []flashsale.Reserver{r}, s, buyers)
}

// rushOn is rush with the buyers spread over replicas; a buyer's retries go
// to the next replica, as a load balancer without affinity sends them.
func rushOn(t *testing.T, replicas []flashsale.Reserver, s string, buyers []string) map[string]int {
	t.Helper()
	ctx := context.Background()
	var (
		mu   sync.Mutex
		won  = map[string]int{}
		wg   sync.WaitGroup
		fail = make(chan error, 1)
	)
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tries, qty := 1, 1+i%2
			if i%3 == 0 {
				tries = 3
			}
			for try := range tries {
				r := replicas[(i+try)%len(replicas)]
				res, err := r.Reserve(ctx, s, "sku", b, qty)
				if err != nil {
					select {
					case fail <- err:
					default:
					}
					return
				}
				if res.Outcome == flashsale.Won {
					mu.Lock()
					won[b] += qty
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

func buyers(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}

// check asserts exactly quota units won and nobody above the limit.
func check(t *testing.T, won map[string]int, quota, limit int) {
	t.Helper()
	total := 0
	for b, n := range won {
		total += n
		if n > limit {
			t.Errorf("buyer %s holds %d units, limit %d", b, n, limit)
		}
	}
	if total != quota {
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
	res, err := r.Reserve(context.Background(), s, "sku", "late", 1)
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
	// 100 unpaid winners' units come back, released concurrently.
	released := 0
	var wg sync.WaitGroup
	errc := make(chan error, 200)
	for b, n := range won {
		if released+n > 100 {
			continue
		}
		released += n
		won[b] -= n
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Release(ctx, s, "sku", b, n); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("release: %v", err)
	}
	// They are winnable again, exactly once each, by a second wave.
	again := rush(t, r, s, buyers("w", 2000))
	if got := sum(again); got != released {
		t.Fatalf("second wave won %d units, %d were released", got, released)
	}
	for b, n := range again {
		won[b] += n
	}
	check(t, won, 500, 2)
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
	sold := sum(first)
	if sold == 0 || sold >= 500 {
		t.Fatalf("first wave sold %d units; the case needs a partial sale", sold)
	}
	r = e.Wipe(t, r, c)
	// An engine that lost its state refuses: it must not sell the quota again.
	res, err := r.Reserve(ctx, s, "sku", "b00001", 1)
	if err != nil || res.Outcome != flashsale.NotOpen {
		t.Fatalf("after the wipe: %v %v, want not_open", res.Outcome, err)
	}
	if err := r.Load(ctx, snapshot(s, 500, 2, first)); err != nil {
		t.Fatal(err)
	}
	// The same buyers come back with 4,800 more: the rest of the quota is
	// sold, not the whole of it, and the first wave's holdings count
	// against the limit.
	second := rush(t, r, s, buyers("b", 5000))
	for b, n := range second {
		first[b] += n
	}
	check(t, first, 500, 2)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
