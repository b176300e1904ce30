package sqlite

import (
	"context"
	"database/sql"

	"github.com/siyu-commerce/siyu/internal/outbox"
)

// insertEvents writes events inside tx: a domain store calls it in the
// transaction of the change the events report, so both commit or neither
// does. (Jobs have their twin, insertJobs, in jobs.go.)
func insertEvents(ctx context.Context, tx *sql.Tx, evs []outbox.Event) error {
	for _, e := range evs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, topic, key, payload, created_at)
			VALUES (?, ?, ?, ?, ?)`,
			e.ID, e.Topic, e.Key, payloadText(e.Payload), ts(e.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}
