package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Publish writes events on their own. A retried Publish of the same event is
// a no-op, so a producer that timed out may simply publish again.
func (s *Store) Publish(ctx context.Context, evs ...outbox.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for _, e := range evs {
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (id, topic, key, payload, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
				e.ID, e.Topic, e.Key, payloadText(e.Payload), e.CreatedAt); err != nil {
				return err
			}
		}
		return nil
	})
	return errs.Wrap(err, "outbox: publish")
}

// ClaimEvents leases the oldest undelivered events. SKIP LOCKED lets
// replicas claim side by side without waiting on each other, and the lock
// re-checks the row, so a row another replica just leased is not taken.
//
// The pick is a MATERIALIZED CTE rather than "WHERE id IN (SELECT ... LIMIT
// ... SKIP LOCKED)": the planner may run such a subquery more than once in
// a join and lease more rows than the limit, some behind another's back.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]outbox.Event, error) {
	if limit <= 0 {
		return nil, nil // a negative LIMIT is an error here and unbounded on SQLite
	}
	rows, err := s.pool.Query(ctx, `WITH picked AS MATERIALIZED (
			SELECT id FROM outbox
			WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < $1)
			ORDER BY id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE outbox o SET claimed_until = $2, attempts = o.attempts + 1
		FROM picked WHERE o.id = picked.id
		RETURNING o.id, o.topic, o.key, o.payload, o.created_at`,
		now, now.Add(lease), limit)
	if err != nil {
		return nil, errs.Wrap(err, "outbox: claim")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outbox.Event, error) {
		var e outbox.Event
		var payload []byte
		err := row.Scan(&e.ID, &e.Topic, &e.Key, &payload, &e.CreatedAt)
		e.Payload = payload
		e.CreatedAt = e.CreatedAt.UTC()
		return e, err
	})
	if err != nil {
		return nil, errs.Wrap(err, "outbox: claim")
	}
	// RETURNING yields rows in no promised order.
	slices.SortFunc(out, func(a, b outbox.Event) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// MarkDelivered records delivery. It does not check the lease: delivery is
// at least once, and an event handled twice is still handled.
func (s *Store) MarkDelivered(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE outbox SET delivered_at = $1
		WHERE id = ANY($2::uuid[]) AND delivered_at IS NULL`, at, ids)
	return errs.Wrap(err, "outbox: mark delivered")
}

// payloadText stores a missing payload as JSON null, so the jsonb column
// always gets JSON.
func payloadText(b []byte) string {
	if len(b) == 0 {
		return "null"
	}
	return string(b)
}
