package sqlite

// Stubs of the catalog store: replaced by the real implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

var _ = time.Time{}
var _ = context.Background

func (s *Store) CreateCategory(ctx context.Context, c *catalog.Category, ev []outbox.Event) error {
	return errNotImplemented
}

func (s *Store) Categories(ctx context.Context) ([]catalog.Category, error) {
	return nil, errNotImplemented
}

func (s *Store) CreateProduct(ctx context.Context, p *catalog.Product, ev []outbox.Event) error {
	return errNotImplemented
}

func (s *Store) UpdateProduct(ctx context.Context, id string, fn func(p *catalog.Product) ([]outbox.Event, error)) (*catalog.Product, error) {
	return nil, errNotImplemented
}

func (s *Store) Product(ctx context.Context, id string) (*catalog.Product, error) {
	return nil, errNotImplemented
}

func (s *Store) Products(ctx context.Context, f catalog.Filter) (catalog.Page, error) {
	return catalog.Page{}, errNotImplemented
}

func (s *Store) SKUs(ctx context.Context, ids []string) (map[string]catalog.SKUWithProduct, error) {
	return nil, errNotImplemented
}

var _ = errors.New
