package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// The domain stores write events and jobs in the transaction of the change
// that causes them, queued on the batch that carries the change, so they
// cost no round trip of their own. (insertJobs in jobs.go is the same insert
// for a transaction that is not batching.)

// queueEvents queues the insert of events on b.
func queueEvents(b *pgx.Batch, evs []outbox.Event) {
	for _, e := range evs {
		b.Queue(`INSERT INTO outbox (id, topic, key, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
			e.ID, e.Topic, e.Key, payloadText(e.Payload), e.CreatedAt)
	}
}

// queueJobs queues the insert of jobs on b. A job whose key a live job of its
// kind already holds is skipped: the conflict target names the partial
// unique index, so a duplicate id is still an error.
func queueJobs(b *pgx.Batch, js []jobs.Job) {
	for _, j := range js {
		if j.ID == "" {
			j.ID = ids.New()
		}
		b.Queue(`INSERT INTO jobs
			(id, kind, key, payload, state, run_at, attempts, max_attempts, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'ready', $5, 0, $6, now(), now())
			ON CONFLICT (kind, key) WHERE key <> '' AND state <> 'dead' DO NOTHING`,
			j.ID, j.Kind, j.Key, payloadText(j.Payload), j.RunAt, j.MaxAttempts)
	}
}
