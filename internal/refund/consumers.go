package refund

import (
	"context"
	"encoding/json"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// RegisterConsumers makes the dispatcher deliver the events refunds react
// to. Delivery is at least once; each consumer is idempotent.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(TopicSucceeded, s.restock)
	d.On(payment.TopicCapturedAfterClose, s.refundLateCapture)
}

// restock puts the units of a refund whose goods are back with the merchant
// (returned, or never shipped) on hand at the online warehouse, once per
// refund whatever the deliveries: the store keys the restock by the
// refund. Units come back only when the money went back: a refund that
// closed leaves its goods for the operator to deal with.
func (s *Service) restock(ctx context.Context, e outbox.Event) error {
	var ev RefundEvent
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	if !ev.Return || len(ev.Lines) == 0 {
		return nil
	}
	at := s.Clock.Now()
	ms := make([]inventory.Movement, 0, len(ev.Lines))
	for _, l := range ev.Lines {
		ms = append(ms, inventory.Movement{
			ID: ids.New(), SKUID: l.SKUID, Location: inventory.Online, OnHandDelta: int64(l.Qty),
			Reason: inventory.Receive, Ref: "refund:" + ev.RefundID, At: at,
		})
	}
	_, err := s.Store.RestockReturn(ctx, ev.RefundID, ms)
	return err
}

// refundLateCapture refunds money that arrived for an order that had
// already closed (payment.TopicCapturedAfterClose, a payment.Event).
func (s *Service) refundLateCapture(ctx context.Context, e outbox.Event) error {
	var ev payment.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	_, err := s.RefundCapturedAfterClose(ctx, ev.OrderID, ev.PaymentID)
	if errs.Is(err, CodeExceedsPaid) || errs.Is(err, CodeZeroAmount) {
		// Finance refunded it by hand first: nothing is left to give back.
		s.log().Warn("refund: money captured after close was refunded already", "order", ev.OrderID, "payment", ev.PaymentID)
		return nil
	}
	return err
}
