package postgres

// Stubs of the cart store: replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/cart"
)

var _ = time.Time{}
var _ = context.Background

func (s *Store) CartLines(ctx context.Context, buyerID string) ([]cart.Line, error) {
	return nil, errNotImplemented
}

func (s *Store) PutCartLine(ctx context.Context, buyerID string, l cart.Line) error {
	return errNotImplemented
}

func (s *Store) AddCartQty(ctx context.Context, buyerID string, l cart.Line) (cart.Line, error) {
	return cart.Line{}, errNotImplemented
}

func (s *Store) RemoveCartLines(ctx context.Context, buyerID string, skuIDs []string) error {
	return errNotImplemented
}

var _ = errors.New
