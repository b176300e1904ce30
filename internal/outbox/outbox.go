// Package outbox owns domain events. An event is written to the outbox table
// in the same transaction as the state change it reports, so a change and
// its event commit together or not at all; a dispatcher then delivers it to
// in-process handlers (and, when configured, a relay to NATS) at least once.
// Handlers must therefore be idempotent.
package outbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Event is one domain event.
type Event struct {
	ID        string          `json:"id"`
	Topic     string          `json:"topic"` // e.g. "order.paid"
	Key       string          `json:"key"`   // the aggregate's id, e.g. the order id
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
}

// New builds an event with a fresh id. The payload is marshalled now, so a
// later change to the value does not change the event.
func New(topic, key string, payload any, at time.Time) Event {
	b, err := json.Marshal(payload)
	if err != nil {
		panic("outbox.New: payload does not marshal: " + err.Error()) // a programming error
	}
	return Event{ID: ids.New(), Topic: topic, Key: key, Payload: b, CreatedAt: at}
}

// Store is the outbox table, as the dispatcher sees it. Most events are not
// written here: each domain store writes them inside the transaction of the
// change they report.
type Store interface {
	// Publish writes events outside any other change, for producers with no
	// state of their own. Publishing an event (by id) again does nothing.
	Publish(ctx context.Context, evs ...Event) error
	// ClaimEvents leases up to limit undelivered events, oldest first, so
	// that another replica's dispatcher skips them until the lease ends.
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Event, error)
	// MarkDelivered records that the events were handled.
	MarkDelivered(ctx context.Context, ids []string, at time.Time) error
}
