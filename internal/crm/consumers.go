package crm

import (
	"context"
	"encoding/json"

	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// JobRecompute is the scheduled complete recompute.
const JobRecompute = "crm.recompute"

// RegisterConsumers keeps a buyer's profile current as their money moves:
// a paid order, a refund (partial or full) and a full refund's order
// change each recompute that one buyer. Recomputing is idempotent, so a
// repeated delivery changes nothing twice (a layer move is appended only
// when the layer changes).
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicPaid, s.onOrder)
	d.On(order.TopicRefunded, s.onOrder)
	d.On(refund.TopicSucceeded, s.onRefund)
}

func (s *Service) onOrder(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	return s.RecomputeBuyer(ctx, ev.BuyerID)
}

func (s *Service) onRefund(ctx context.Context, e outbox.Event) error {
	var ev refund.RefundEvent
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	return s.RecomputeBuyer(ctx, ev.BuyerID)
}
