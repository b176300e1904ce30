package postgres

// Stubs of the jobs store: replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
)

var _ = time.Time{}
var _ = context.Background

func (s *Store) Enqueue(ctx context.Context, js ...jobs.Job) error {
	return errNotImplemented
}

func (s *Store) ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]jobs.Job, error) {
	return nil, errNotImplemented
}

func (s *Store) CompleteJob(ctx context.Context, id, owner string) error {
	return errNotImplemented
}

func (s *Store) RetryJob(ctx context.Context, id, owner string, runAt time.Time, lastErr string) error {
	return errNotImplemented
}

func (s *Store) KillJob(ctx context.Context, id, owner, lastErr string) error {
	return errNotImplemented
}

var _ = errors.New
