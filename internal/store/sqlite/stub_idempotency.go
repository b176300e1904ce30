package sqlite

// Stubs of the idempotency store: replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/idempotency"
)

var _ = time.Time{}
var _ = context.Background

func (s *Store) ClaimKey(ctx context.Context, r idempotency.Record) (*idempotency.Record, bool, error) {
	return nil, false, errNotImplemented
}

func (s *Store) FinishKey(ctx context.Context, scope, key string, status int, body []byte) error {
	return errNotImplemented
}

func (s *Store) ReleaseKey(ctx context.Context, scope, key string) error {
	return errNotImplemented
}

func (s *Store) PurgeKeys(ctx context.Context, before time.Time) (int, error) {
	return 0, errNotImplemented
}

var _ = errors.New
