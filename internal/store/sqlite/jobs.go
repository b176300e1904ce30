package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Enqueue inserts jobs in one transaction; a job whose key is already held
// by a live job of its kind is skipped.
func (s *Store) Enqueue(ctx context.Context, js ...jobs.Job) error {
	if len(js) == 0 {
		return nil
	}
	return errs.Wrap(s.tx(ctx, func(tx *sql.Tx) error { return insertJobs(ctx, tx, js) }), "jobs: enqueue")
}

// insertJobs writes jobs inside tx, for Enqueue and for the domain stores
// that schedule work in the transaction of the change that needs it.
func insertJobs(ctx context.Context, tx *sql.Tx, js []jobs.Job) error {
	now := ts(time.Now())
	for _, j := range js {
		if j.ID == "" {
			j.ID = ids.New()
		}
		// The conflict target names the partial unique index, so only a
		// duplicate live key is skipped; a duplicate id is still an error.
		if _, err := tx.ExecContext(ctx, `INSERT INTO jobs
			(id, kind, key, payload, state, run_at, attempts, max_attempts, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'ready', ?, 0, ?, ?, ?)
			ON CONFLICT (kind, key) WHERE key <> '' AND state <> 'dead' DO NOTHING`,
			j.ID, j.Kind, j.Key, payloadText(j.Payload), ts(j.RunAt), j.MaxAttempts, now, now); err != nil {
			return err
		}
	}
	return nil
}

// ClaimJobs leases due jobs, and jobs whose owner's lease ran out, in one
// statement on the one writer connection, so no two claims overlap.
func (s *Store) ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]jobs.Job, error) {
	if limit <= 0 {
		return nil, nil // SQLite would read a negative LIMIT as no limit
	}
	rows, err := s.w.QueryContext(ctx, `UPDATE jobs
		SET state = 'running', owner = ?, locked_until = ?, attempts = attempts + 1, updated_at = ?
		WHERE id IN (
			SELECT id FROM jobs
			WHERE (state = 'ready' AND run_at <= ?) OR (state = 'running' AND locked_until < ?)
			ORDER BY run_at, id LIMIT ?)
		RETURNING id, kind, key, payload, run_at, attempts, max_attempts`,
		owner, ts(now.Add(lease)), ts(now), ts(now), ts(now), limit)
	if err != nil {
		return nil, errs.Wrap(err, "jobs: claim")
	}
	defer rows.Close()
	var out []jobs.Job
	for rows.Next() {
		var (
			j       jobs.Job
			payload string
			runAt   int64
		)
		if err := rows.Scan(&j.ID, &j.Kind, &j.Key, &payload, &runAt, &j.Attempts, &j.MaxAttempts); err != nil {
			return nil, errs.Wrap(err, "jobs: claim")
		}
		j.Payload = []byte(payload)
		j.RunAt = fromTS(runAt)
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
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
	res, err := s.w.ExecContext(ctx, `DELETE FROM jobs WHERE id = ? AND owner = ? AND state = 'running'`, id, owner)
	return held(res, err, "complete", id, owner)
}

// RetryJob puts a failed job back in the queue for runAt.
func (s *Store) RetryJob(ctx context.Context, id, owner string, runAt time.Time, lastErr string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE jobs
		SET state = 'ready', run_at = ?, last_error = ?, owner = '', locked_until = NULL, updated_at = ?
		WHERE id = ? AND owner = ? AND state = 'running'`,
		ts(runAt), lastErr, ts(time.Now()), id, owner)
	return held(res, err, "retry", id, owner)
}

// KillJob keeps a job that ran out of attempts as dead, which also frees its
// key for a new job.
func (s *Store) KillJob(ctx context.Context, id, owner, lastErr string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE jobs
		SET state = 'dead', last_error = ?, owner = '', locked_until = NULL, updated_at = ?
		WHERE id = ? AND owner = ? AND state = 'running'`,
		lastErr, ts(time.Now()), id, owner)
	return held(res, err, "kill", id, owner)
}

// held turns "no row changed" into the error that tells a runner it lost the
// job to another owner.
func held(res sql.Result, err error, verb, id, owner string) error {
	if err != nil {
		return errs.Wrap(err, "jobs: %s %s", verb, id)
	}
	if n, err := res.RowsAffected(); err != nil {
		return errs.Wrap(err, "jobs: %s %s", verb, id)
	} else if n == 0 {
		return errs.E(errs.Conflict, jobs.CodeNotHeld, "job %s is not held by %s", id, owner)
	}
	return nil
}
