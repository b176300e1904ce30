package outbox_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// box is an outbox.Store in memory with no leases: each claim hands out
// every undelivered event, which is all a single dispatcher needs.
type box struct {
	mu        sync.Mutex
	events    []outbox.Event
	delivered map[string]bool
}

func (b *box) Publish(_ context.Context, evs ...outbox.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, evs...)
	return nil
}

func (b *box) ClaimEvents(_ context.Context, _ time.Time, _ time.Duration, limit int) ([]outbox.Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []outbox.Event
	for _, e := range b.events {
		if !b.delivered[e.ID] && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (b *box) MarkDelivered(_ context.Context, ids []string, _ time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.delivered == nil {
		b.delivered = map[string]bool{}
	}
	for _, id := range ids {
		b.delivered[id] = true
	}
	return nil
}

func TestDispatcherRoutesByTopic(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)
	paid := outbox.New("order.paid", "o-1", nil, t0)
	closed := outbox.New("order.closed", "o-2", nil, t0)
	b := &box{}
	_ = b.Publish(ctx, paid, closed)

	var got []string
	d := &outbox.Dispatcher{Store: b, Clock: clock.NewFake(t0)} // no Log: the default logger serves
	d.On("order.paid", func(_ context.Context, e outbox.Event) error { got = append(got, "paid:"+e.Key); return nil })
	d.On("*", func(_ context.Context, e outbox.Event) error { got = append(got, "all:"+e.Key); return nil })

	n, err := d.DeliverOnce(ctx)
	if err != nil || n != 2 {
		t.Fatalf("DeliverOnce = %d, %v; want 2, nil", n, err)
	}
	if want := []string{"paid:o-1", "all:o-1", "all:o-2"}; !slices.Equal(got, want) {
		t.Fatalf("handlers saw %v, want %v", got, want)
	}
}

func TestDispatcherLeavesAFailedEventUndelivered(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)
	ok := outbox.New("a", "ok", nil, t0)
	bad := outbox.New("a", "bad", nil, t0)
	b := &box{}
	_ = b.Publish(ctx, ok, bad)

	var seen []string
	d := &outbox.Dispatcher{Store: b, Clock: clock.NewFake(t0)}
	d.On("a", func(_ context.Context, e outbox.Event) error { seen = append(seen, e.Key); return nil })
	// A later handler fails: the event is not delivered, even though an
	// earlier handler saw it; handlers are idempotent, so it runs again.
	d.On("a", func(_ context.Context, e outbox.Event) error {
		if e.Key == "bad" {
			return errors.New("consumer down")
		}
		return nil
	})
	n, err := d.DeliverOnce(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeliverOnce = %d, %v; want 1, nil", n, err)
	}
	if !b.delivered[ok.ID] || b.delivered[bad.ID] {
		t.Fatalf("delivered %v; want only %s", b.delivered, ok.ID)
	}
	_, _ = d.DeliverOnce(ctx)
	if want := []string{"ok", "bad", "bad"}; !slices.Equal(seen, want) {
		t.Fatalf("first handler saw %v, want %v", seen, want)
	}
}
