package order

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// refundEvent is the part of a refund capability's success event the order
// needs: which order, and whether nothing is left paid on it.
type refundEvent struct {
	OrderID string `json:"order_id"`
	Source  string `json:"source"`
	Full    bool   `json:"full"`
}

// adjustment is the refund source of a price adjustment: the sale stands
// (refund.Adjustment; the order cannot import the refund package).
const adjustment = "adjustment"

// OnRefundSucceeded is the outbox consumer that ends an order refunded in
// full: it can no longer be shipped or confirmed, so an operator cannot send
// goods that were already paid back. A partial refund leaves the order as it
// is, and so does a price adjustment, however much it gives back (a team
// leader's goods made free): the goods still ship. Delivered twice, it
// changes the order once.
func (s *Service) OnRefundSucceeded(ctx context.Context, e outbox.Event) error {
	var r refundEvent
	if err := json.Unmarshal(e.Payload, &r); err != nil {
		return fmt.Errorf("order: refund event %s: %w", e.ID, err)
	}
	if !r.Full || r.Source == adjustment {
		return nil
	}
	_, err := s.move(ctx, r.OrderID, "", Refunded, "refunded in full", nil)
	// An order that was never paid has nothing to end; it cannot happen for
	// a real refund, and retrying would not change it.
	if errs.KindOf(err) == errs.Conflict {
		return nil
	}
	return err
}
