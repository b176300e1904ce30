// Package inventory owns stock: per SKU and per location, the units on hand
// and the units reserved by unpaid orders, and a journal of every movement
// with its reason. Invariant: 0 <= reserved <= on_hand. Every change is one
// conditional UPDATE (… WHERE on_hand - reserved >= n), never a read
// followed by a write: that read-then-write is how the mall systems in
// DOMAIN.md oversell.
package inventory

import (
	"context"
	"time"
)

// Online is the location of the online warehouse; offline stores get their
// own location codes.
const Online = "online"

// Reason says why stock moved.
type Reason string

const (
	Receive Reason = "receive" // goods in
	Adjust  Reason = "adjust"  // a count correction by an operator
	Reserve Reason = "reserve" // an order was placed
	Release Reason = "release" // an order was cancelled or closed unpaid
	Commit  Reason = "commit"  // an order was paid: reserved units leave on_hand
)

// Level is the stock of one SKU at one location.
type Level struct {
	SKUID    string `json:"sku_id"`
	Location string `json:"location"`
	OnHand   int64  `json:"on_hand"`
	Reserved int64  `json:"reserved"`
}

// Available is what can still be reserved.
func (l Level) Available() int64 { return l.OnHand - l.Reserved }

// Movement is one line of the stock journal.
type Movement struct {
	ID            string    `json:"id"`
	SKUID         string    `json:"sku_id"`
	Location      string    `json:"location"`
	OnHandDelta   int64     `json:"on_hand_delta"`
	ReservedDelta int64     `json:"reserved_delta"`
	Reason        Reason    `json:"reason"`
	Ref           string    `json:"ref,omitempty"` // the order id, or the operator's note
	At            time.Time `json:"at"`
}

// Store keeps stock levels and the journal. Reservation, release and commit
// for orders happen inside the order store's transactions; this interface is
// for operators' adjustments and reads.
type Store interface {
	// AdjustStock adds delta (may be negative) to on_hand, refusing to go
	// below what is reserved, and journals it.
	AdjustStock(ctx context.Context, m Movement) (Level, error)
	Levels(ctx context.Context, skuIDs []string) ([]Level, error)
	Journal(ctx context.Context, skuID string, limit int) ([]Movement, error)
}
