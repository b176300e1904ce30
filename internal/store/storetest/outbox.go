package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

func init() { register("outbox", testOutbox) }

// platformEpoch is where the fake clocks of the platform suites start: far
// from the wall clock, so a store that reads the wall clock instead of the
// time it is given fails.
var platformEpoch = time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)

func testOutbox(t *testing.T, open Opener) {
	ctx := context.Background()
	t0 := platformEpoch
	lease := 30 * time.Second

	t.Run("claim returns undelivered events oldest first, up to the limit", func(t *testing.T) {
		s := open(t)
		evs := newTestEvents(5, t0)
		// Published newest first: the order must come from the ids, not
		// from the order of insertion.
		rev := slices.Clone(evs)
		slices.Reverse(rev)
		failOn(t, s.Publish(ctx, rev...))

		got := claimEvents(t, s, t0, lease, 3)
		wantSameEvents(t, got, evs[:3])
		got = claimEvents(t, s, t0, lease, 3)
		wantSameEvents(t, got, evs[3:])
	})

	t.Run("a claimed event is hidden from other claims until its lease ends", func(t *testing.T) {
		s := open(t)
		evs := newTestEvents(2, t0)
		failOn(t, s.Publish(ctx, evs...))
		wantSameEvents(t, claimEvents(t, s, t0, lease, 10), evs)
		for _, at := range []time.Time{t0.Add(time.Second), t0.Add(lease)} {
			if got := claimEvents(t, s, at, lease, 10); len(got) != 0 {
				t.Fatalf("claim at %v, within the lease: got %d events, want none", at, len(got))
			}
		}
		wantSameEvents(t, claimEvents(t, s, t0.Add(lease+time.Microsecond), lease, 10), evs)
	})

	t.Run("delivered events never come back", func(t *testing.T) {
		s := open(t)
		evs := newTestEvents(3, t0)
		failOn(t, s.Publish(ctx, evs...))
		claimEvents(t, s, t0, lease, 10)
		failOn(t, s.MarkDelivered(ctx, []string{evs[0].ID, evs[2].ID}, t0.Add(time.Second)))
		wantSameEvents(t, claimEvents(t, s, t0.Add(time.Hour), lease, 10), evs[1:2])
		failOn(t, s.MarkDelivered(ctx, []string{evs[1].ID}, t0.Add(time.Hour)))
		if got := claimEvents(t, s, t0.Add(48*time.Hour), lease, 10); len(got) != 0 {
			t.Fatalf("after delivery: claimed %d events, want none", len(got))
		}
	})

	t.Run("publishing an event again writes it once", func(t *testing.T) {
		s := open(t)
		evs := newTestEvents(2, t0)
		failOn(t, s.Publish(ctx, evs...))
		failOn(t, s.Publish(ctx, evs[1]))
		wantSameEvents(t, claimEvents(t, s, t0, lease, 10), evs)
	})

	t.Run("an event whose handler fails is delivered again after its lease", func(t *testing.T) {
		s := open(t)
		evs := newTestEvents(1, t0)
		failOn(t, s.Publish(ctx, evs...))
		calls := 0
		d := &outbox.Dispatcher{Store: s, Lease: lease, Log: discardLog()}
		d.On(evs[0].Topic, func(context.Context, outbox.Event) error {
			calls++
			if calls == 1 {
				return errors.New("consumer down")
			}
			return nil
		})
		steps := []struct {
			after time.Duration // since t0
			want  int
		}{
			{0, 0},                   // the handler fails
			{lease, 0},               // the lease has not yet run out
			{lease + time.Second, 1}, // it has: delivered
			{2 * time.Hour, 0},       // and never again
		}
		for _, st := range steps {
			clk := clock.NewFake(t0.Add(st.after))
			d.Clock = clk
			n, err := d.DeliverOnce(ctx)
			failOn(t, err)
			if n != st.want {
				t.Fatalf("DeliverOnce at t0+%v delivered %d, want %d", st.after, n, st.want)
			}
		}
		if calls != 2 {
			t.Fatalf("handler ran %d times, want 2", calls)
		}
	})

	t.Run("two dispatchers deliver each of 500 events, none twice while leases hold", func(t *testing.T) {
		s := open(t)
		const total = 500
		evs := newTestEvents(total, t0)
		failOn(t, s.Publish(ctx, evs...))

		var (
			mu    sync.Mutex
			seen  = map[string]int{}
			by    = map[string]int{}
			wg    sync.WaitGroup
			clk   = clock.NewFake(t0) // never moves: every lease outlasts the test
			names = []string{"replica-a", "replica-b"}
		)
		for _, name := range names {
			d := &outbox.Dispatcher{Store: s, Clock: clk, Lease: time.Hour, Batch: 7, Log: discardLog()}
			d.On("*", func(_ context.Context, e outbox.Event) error {
				mu.Lock()
				defer mu.Unlock()
				seen[e.ID]++
				by[name]++
				return nil
			})
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A claim that finds nothing means every undelivered
				// event is leased to the other dispatcher.
				for {
					n, err := d.DeliverOnce(ctx)
					if err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
					if n == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		if len(seen) != total {
			t.Fatalf("delivered %d distinct events, want %d", len(seen), total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("event %s delivered %d times, want once", id, n)
			}
		}
		t.Logf("deliveries per dispatcher: %v", by)
		if got := claimEvents(t, s, t0.Add(48*time.Hour), lease, total); len(got) != 0 {
			t.Fatalf("after both dispatchers finished: %d events undelivered", len(got))
		}
	})
}

// newEvents builds n events a millisecond apart, oldest first.
func newTestEvents(n int, at time.Time) []outbox.Event {
	evs := make([]outbox.Event, n)
	for i := range evs {
		evs[i] = outbox.New("test.happened", "agg-1", map[string]any{"seq": i, "note": "第" + string(rune('0'+i%10))}, at.Add(time.Duration(i)*time.Millisecond))
	}
	return evs
}

func claimEvents(t *testing.T, s Engine, now time.Time, lease time.Duration, limit int) []outbox.Event {
	t.Helper()
	evs, err := s.ClaimEvents(context.Background(), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimEvents: %v", err)
	}
	return evs
}

// wantEvents compares events field by field; payloads are compared as JSON
// values, since PostgreSQL's jsonb does not keep the text as written.
func wantSameEvents(t *testing.T, got, want []outbox.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Topic != w.Topic || g.Key != w.Key || !g.CreatedAt.Equal(w.CreatedAt) {
			t.Fatalf("event %d = %+v, want %+v", i, g, w)
		}
		if !jsonEquivalent(g.Payload, w.Payload) {
			t.Fatalf("event %d payload = %s, want %s", i, g.Payload, w.Payload)
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func jsonEquivalent(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// failOn stops the test on an unexpected error.
func failOn(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
