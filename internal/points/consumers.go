package points

import (
	"context"
	"encoding/json"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// RegisterConsumers earns points on paid orders, settles the points an
// order spent (posted when it is paid, returned when it ends unpaid), and
// reverses both on refunds. Every consumer is idempotent by its movement's
// key, so repeated deliveries are harmless.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicPaid, s.withAccounts(s.onPaid))
	d.On(order.TopicCancelled, s.withAccounts(s.onEnded))
	d.On(order.TopicClosed, s.withAccounts(s.onEnded))
	d.On(refund.TopicSucceeded, s.withAccounts(s.onRefunded))
}

// withAccounts runs h once the ledger accounts exist.
func (s *Service) withAccounts(h func(context.Context, outbox.Event) error) func(context.Context, outbox.Event) error {
	return func(ctx context.Context, e outbox.Event) error {
		if err := s.Setup(ctx); err != nil {
			return err
		}
		return h(ctx, e)
	}
}

// onPaid earns on what the buyer paid in money: points spent are not paid
// again in points.
func (s *Service) onPaid(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	now := s.Clock.Now()
	if _, err := s.Store.SettlePointsSpend(ctx, ev.OrderID, true, now, now); err != nil {
		return err
	}
	return s.Earn(ctx, ev.OrderID, ev.BuyerID, money.Fen(ev.Total))
}

// Earn gives the points an order's payment earns, once per order.
func (s *Service) Earn(ctx context.Context, orderID, buyerID string, paid money.Fen) error {
	c, err := s.Store.PointsConfig(ctx)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	_, err = s.Store.AddPoints(ctx, Add{Key: "order:" + orderID, BuyerID: buyerID, Source: SourceOrder,
		Points: c.Earned(paid), Ref: orderID, At: now, Expires: c.Expiry(now), Paid: paid})
	return err
}

func (s *Service) onEnded(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	c, err := s.Store.PointsConfig(ctx)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	_, err = s.Store.SettlePointsSpend(ctx, ev.OrderID, false, now, c.Expiry(now))
	return err
}

// onRefunded takes back a share of the earned points and returns a share
// of the spent ones. An adjustment (part of the price given back, the
// sale kept) is never a full refund here, whatever is left of the payment.
func (s *Service) onRefunded(ctx context.Context, e outbox.Event) error {
	var ev refund.RefundEvent
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	c, err := s.Store.PointsConfig(ctx)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	_, err = s.Store.RefundPoints(ctx, Refund{RefundID: ev.RefundID, OrderID: ev.OrderID, Amount: ev.Amount,
		Full: ev.Full && ev.Source != refund.Adjustment, At: now, Expires: c.Expiry(now)})
	return err
}
