package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
)

// Enqueue inserts jobs in one transaction; a job whose key is already held
// by a live job of its kind is skipped. The insert is queueJobs, the one the
// domain stores batch with their own changes.
func (s *Store) Enqueue(ctx context.Context, js ...jobs.Job) error {
	if len(js) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueJobs(b, js)
	err := s.tx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	return errs.Wrap(err, "jobs: enqueue")
}

// ClaimJobs leases due jobs, and jobs whose owner's lease ran out. SKIP
// LOCKED lets replicas claim side by side, and the row lock re-checks each
// row, so a job another replica has just leased is never taken. The pick is
// a MATERIALIZED CTE for the reason given at ClaimEvents.
func (s *Store) ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]jobs.Job, error) {
	if limit <= 0 {
		return nil, nil // a negative LIMIT is an error here and unbounded on SQLite
	}
	rows, err := s.pool.Query(ctx, `WITH picked AS MATERIALIZED (
			SELECT id FROM jobs
			WHERE (state = 'ready' AND run_at <= $2) OR (state = 'running' AND locked_until < $2)
			ORDER BY run_at, id LIMIT $4
			FOR UPDATE SKIP LOCKED)
		UPDATE jobs j SET state = 'running', owner = $1, locked_until = $3,
			attempts = j.attempts + 1, updated_at = $2
		FROM picked WHERE j.id = picked.id
		RETURNING j.id, j.kind, j.key, j.payload, j.run_at, j.attempts, j.max_attempts`,
		owner, now, now.Add(lease), limit)
	if err != nil {
		return nil, errs.Wrap(err, "jobs: claim")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (jobs.Job, error) {
		var j jobs.Job
		var payload []byte
		err := row.Scan(&j.ID, &j.Kind, &j.Key, &payload, &j.RunAt, &j.Attempts, &j.MaxAttempts)
		j.Payload = payload
		j.RunAt = j.RunAt.UTC()
		return j, err
	})
	if err != nil {
		return nil, errs.Wrap(err, "jobs: claim")
	}
	// RETURNING yields rows in no promised order.
	slices.SortFunc(out, func(a, b jobs.Job) int {
		return cmp.Or(a.RunAt.Compare(b.RunAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// CompleteJob deletes the job only while owner holds it: once its lease ran
// out and another replica claimed it, the other replica's run decides.
func (s *Store) CompleteJob(ctx context.Context, id, owner string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM jobs WHERE id = $1 AND owner = $2 AND state = 'running'`, id, owner)
	return held(tag, err, "complete", id, owner)
}

// RetryJob puts a failed job back in the queue for runAt.
func (s *Store) RetryJob(ctx context.Context, id, owner string, runAt time.Time, lastErr string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE jobs
		SET state = 'ready', run_at = $3, last_error = $4, owner = '', locked_until = NULL, updated_at = now()
		WHERE id = $1 AND owner = $2 AND state = 'running'`,
		id, owner, runAt, lastErr)
	return held(tag, err, "retry", id, owner)
}

// KillJob keeps a job that ran out of attempts as dead, which also frees its
// key for a new job.
func (s *Store) KillJob(ctx context.Context, id, owner, lastErr string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE jobs
		SET state = 'dead', last_error = $3, owner = '', locked_until = NULL, updated_at = now()
		WHERE id = $1 AND owner = $2 AND state = 'running'`,
		id, owner, lastErr)
	return held(tag, err, "kill", id, owner)
}

// held turns "no row changed" into the error that tells a runner it lost the
// job to another owner.
func held(tag pgconn.CommandTag, err error, verb, id, owner string) error {
	if err != nil {
		return errs.Wrap(err, "jobs: %s %s", verb, id)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.Conflict, jobs.CodeNotHeld, "job %s is not held by %s", id, owner)
	}
	return nil
}
