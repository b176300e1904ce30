// Package cart owns a buyer's cart: SKUs, quantities, and the unit price the
// buyer saw when adding each, so checkout can tell them what changed.
package cart

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// MaxQty bounds one line; MaxLines bounds a cart.
const (
	MaxQty   = 99
	MaxLines = 50
)

// Line is one SKU in a cart.
type Line struct {
	SKUID     string    `json:"sku_id"`
	Qty       int       `json:"qty"`
	SeenPrice money.Fen `json:"seen_price"` // unit sale price when last added or refreshed
	AddedAt   time.Time `json:"added_at"`
}

// Store keeps carts.
type Store interface {
	CartLines(ctx context.Context, buyerID string) ([]Line, error)
	// PutCartLine inserts or replaces a line. It refuses a new line when the
	// cart already holds MaxLines (ErrCartFull).
	PutCartLine(ctx context.Context, buyerID string, l Line) error
	// AddCartQty adds qty to a line (creating it), refusing to pass MaxQty
	// (ErrQtyTooLarge) or MaxLines; it returns the line as stored.
	AddCartQty(ctx context.Context, buyerID string, l Line) (Line, error)
	// RemoveCartLines deletes lines; removing an absent line is not an error.
	RemoveCartLines(ctx context.Context, buyerID string, skuIDs []string) error
}
