package coupon

import (
	"context"
	"encoding/json"

	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// RegisterConsumers gives coupons back when their order comes to nothing:
// cancelled or closed unpaid, or refunded in full. A partial refund keeps
// the coupon used: its discount stays split across the lines that remain,
// and the refunded lines gave back only what they cost after it.
// Restoring is idempotent, so repeated deliveries are harmless.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicCancelled, s.onOrderEnded)
	d.On(order.TopicClosed, s.onOrderEnded)
	d.On(refund.TopicSucceeded, s.onRefunded)
}

func (s *Service) onOrderEnded(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	return s.Restore(ctx, ev.OrderID)
}

// onRefunded restores on a full refund of the sale. An adjustment gives
// back part of the price and keeps the sale, so it never restores.
func (s *Service) onRefunded(ctx context.Context, e outbox.Event) error {
	var ev refund.RefundEvent
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	if !ev.Full || ev.Source == refund.Adjustment {
		return nil
	}
	return s.Restore(ctx, ev.OrderID)
}
