package sqlite

// Stubs of the outbox store: replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/outbox"
)

var _ = time.Time{}
var _ = context.Background

func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]outbox.Event, error) {
	return nil, errNotImplemented
}

func (s *Store) MarkDelivered(ctx context.Context, ids []string, at time.Time) error {
	return errNotImplemented
}

var _ = errors.New
