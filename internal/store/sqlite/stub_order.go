package sqlite

// Stubs of the order store: replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

var _ = time.Time{}
var _ = context.Background

func (s *Store) CreateOrder(ctx context.Context, o *order.Order, ev []outbox.Event, js []jobs.Job) error {
	return errNotImplemented
}

func (s *Store) Order(ctx context.Context, id string) (*order.Order, error) {
	return nil, errNotImplemented
}

func (s *Store) Orders(ctx context.Context, f order.ListFilter) (order.Page, error) {
	return order.Page{}, errNotImplemented
}

func (s *Store) UpdateOrder(ctx context.Context, id string, fn func(o *order.Order) (order.Change, error)) (*order.Order, error) {
	return nil, errNotImplemented
}

var _ = errors.New
