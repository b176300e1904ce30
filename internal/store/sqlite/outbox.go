package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Publish writes events on their own. A retried Publish of the same event is
// a no-op, so a producer that timed out may simply publish again.
func (s *Store) Publish(ctx context.Context, evs ...outbox.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range evs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, topic, key, payload, created_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
				e.ID, e.Topic, e.Key, payloadText(e.Payload), ts(e.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	return errs.Wrap(err, "outbox: publish")
}

// ClaimEvents leases the oldest undelivered events in one statement; the one
// writer connection serialises claims, so two dispatchers in this process
// (or another process on the same file) never lease the same event at once.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]outbox.Event, error) {
	if limit <= 0 {
		return nil, nil // SQLite would read a negative LIMIT as no limit
	}
	rows, err := s.w.QueryContext(ctx, `UPDATE outbox
		SET claimed_until = ?, attempts = attempts + 1
		WHERE id IN (
			SELECT id FROM outbox
			WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)
			ORDER BY id LIMIT ?)
		RETURNING id, topic, key, payload, created_at`,
		ts(now.Add(lease)), ts(now), limit)
	if err != nil {
		return nil, errs.Wrap(err, "outbox: claim")
	}
	defer rows.Close()
	var out []outbox.Event
	for rows.Next() {
		var (
			e       outbox.Event
			payload string
			created int64
		)
		if err := rows.Scan(&e.ID, &e.Topic, &e.Key, &payload, &created); err != nil {
			return nil, errs.Wrap(err, "outbox: claim")
		}
		e.Payload = []byte(payload)
		e.CreatedAt = fromTS(created)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
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
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET delivered_at = ?
				WHERE id = ? AND delivered_at IS NULL`, ts(at), id); err != nil {
				return err
			}
		}
		return nil
	})
	return errs.Wrap(err, "outbox: mark delivered")
}

// payloadText stores a missing payload as JSON null, so the column always holds
// JSON, as it must on PostgreSQL.
func payloadText(b []byte) string {
	if len(b) == 0 {
		return "null"
	}
	return string(b)
}
