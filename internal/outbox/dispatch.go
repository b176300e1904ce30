package outbox

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// Handler reacts to one event. It must be idempotent: an event may be
// delivered more than once (after a crash, or a lease that ran out).
type Handler func(ctx context.Context, e Event) error

// Dispatcher polls the outbox and delivers events to handlers by topic. An
// event whose handler fails stays undelivered and is retried when its lease
// runs out. Several replicas may each run one: leases keep them apart.
type Dispatcher struct {
	Store    Store
	Clock    clock.Clock
	Log      *slog.Logger
	Interval time.Duration // poll interval; default 200ms
	Lease    time.Duration // how long a claimed event is hidden from others; default 30s
	Batch    int           // events per claim; default 100

	mu       sync.RWMutex
	handlers map[string][]Handler
	all      []Handler
}

// On registers h for a topic; topic "*" receives every event.
func (d *Dispatcher) On(topic string, h Handler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if topic == "*" {
		d.all = append(d.all, h)
		return
	}
	if d.handlers == nil {
		d.handlers = map[string][]Handler{}
	}
	d.handlers[topic] = append(d.handlers[topic], h)
}

// Run delivers events until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	interval := d.Interval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := d.DeliverOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.log().Error("outbox: deliver", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverOnce claims one batch and delivers it; it returns how many events
// were delivered. Tests call it to drain the outbox deterministically.
func (d *Dispatcher) DeliverOnce(ctx context.Context) (int, error) {
	lease, batch := d.Lease, d.Batch
	if lease <= 0 {
		lease = 30 * time.Second
	}
	if batch <= 0 {
		batch = 100
	}
	events, err := d.Store.ClaimEvents(ctx, d.Clock.Now(), lease, batch)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	done := make([]string, 0, len(events))
	for _, e := range events {
		if err := d.deliver(ctx, e); err != nil {
			d.log().Warn("outbox: handler failed; will retry", "event", e.ID, "topic", e.Topic, "err", err)
			continue
		}
		done = append(done, e.ID)
	}
	if len(done) == 0 {
		return 0, nil
	}
	return len(done), d.Store.MarkDelivered(ctx, done, d.Clock.Now())
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}

func (d *Dispatcher) deliver(ctx context.Context, e Event) error {
	d.mu.RLock()
	hs := append(append([]Handler(nil), d.handlers[e.Topic]...), d.all...)
	d.mu.RUnlock()
	for _, h := range hs {
		if err := h(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
