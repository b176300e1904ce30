package sqlite

// Stubs of the inventory store: replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/inventory"
)

var _ = time.Time{}
var _ = context.Background

func (s *Store) AdjustStock(ctx context.Context, m inventory.Movement) (inventory.Level, error) {
	return inventory.Level{}, errNotImplemented
}

func (s *Store) Levels(ctx context.Context, skuIDs []string) ([]inventory.Level, error) {
	return nil, errNotImplemented
}

func (s *Store) Journal(ctx context.Context, skuID string, limit int) ([]inventory.Movement, error) {
	return nil, errNotImplemented
}

var _ = errors.New
