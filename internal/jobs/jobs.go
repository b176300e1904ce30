// Package jobs runs durable scheduled work: a job is a row, written in the
// same transaction as the change that schedules it (an order's close-unpaid
// job is inserted with the order), claimed by one replica at a time under a
// lease (FOR UPDATE SKIP LOCKED on PostgreSQL), retried with exponential
// backoff, and dead after its last attempt. Handlers must be idempotent: a
// replica that dies mid-job leaves it to be claimed again when the lease ends.
//
// River (github.com/riverqueue/river) was evaluated first; see
// docs/architecture.md for why siyu keeps this small queue instead.
package jobs

import (
	"context"
	"encoding/json"
	"time"

	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Job is one unit of scheduled work.
type Job struct {
	ID          string
	Kind        string          // which handler runs it, e.g. "order.close_unpaid"
	Key         string          // optional: at most one live job per (Kind, Key)
	Payload     json.RawMessage // the handler's input
	RunAt       time.Time       // not before
	Attempts    int             // attempts made so far, including the current one once claimed
	MaxAttempts int
}

// New builds a job of kind to run at runAt. key, if not empty, makes the job
// unique among live jobs of its kind: enqueuing a duplicate does nothing.
func New(kind, key string, runAt time.Time, payload any) Job {
	b, err := json.Marshal(payload)
	if err != nil {
		panic("jobs.New: payload does not marshal: " + err.Error())
	}
	return Job{ID: ids.New(), Kind: kind, Key: key, Payload: b, RunAt: runAt, MaxAttempts: 20}
}

// Store is the job table.
type Store interface {
	// Enqueue inserts jobs on their own (most are inserted by a domain
	// store inside the transaction of the change that schedules them).
	Enqueue(ctx context.Context, js ...Job) error
	// ClaimJobs leases up to limit due jobs to owner until now+lease and
	// counts the attempt. Two replicas never hold the same job.
	ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Job, error)
	// CompleteJob removes a finished job held by owner.
	CompleteJob(ctx context.Context, id, owner string) error
	// RetryJob releases a failed job to run again at runAt, recording err.
	RetryJob(ctx context.Context, id, owner string, runAt time.Time, lastErr string) error
	// KillJob keeps a job that ran out of attempts, for an operator to see.
	KillJob(ctx context.Context, id, owner, lastErr string) error
}
