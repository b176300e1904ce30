package presale

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// RegisterJobs makes the runner end deposit purchases whose balance window
// is over. The job is idempotent: a purchase paid, refunded or forfeited
// meanwhile is left as it is.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobBalanceDue, func(ctx context.Context, j jobs.Job) error {
		var p jobPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return err
		}
		_, err := s.EndBalance(ctx, p.PresaleOrderID)
		if errs.KindOf(err) == errs.NotFound {
			return nil
		}
		return err
	})
}

// RegisterConsumers follows the orders of purchases (order events carry
// their activity, so nothing else is read for the orders of other
// activities) and the refunds of deposit purchases. Each consumer changes a
// purchase only from the state it expects, so a repeated delivery changes
// nothing.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicPaid, s.onPaid)
	d.On(order.TopicClosed, s.onUnpaid)
	d.On(order.TopicCancelled, s.onUnpaid)
	d.On(order.TopicRefunded, s.onRefunded)
	d.On(refund.TopicSucceeded, s.onRefundSucceeded)
}

// presaleEvent is the order event's payload if the order is a presale's.
func presaleEvent(e outbox.Event) (*order.Event, error) {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return nil, fmt.Errorf("presale: order event %s: %w", e.ID, err)
	}
	switch {
	case ev.Activity == nil:
		return nil, nil
	case ev.Activity.Kind == order.ActivityPresale, ev.Activity.Kind == order.ActivityPresaleDeposit,
		ev.Activity.Kind == order.ActivityPresaleBalance:
		return &ev, nil
	}
	return nil, nil
}

// update changes a purchase, a missing one being nothing to do.
func (s *Service) update(ctx context.Context, id string, fn func(po *Order) (Change, error)) error {
	_, err := s.Store.UpdatePresaleOrder(ctx, id, fn)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	return err
}

// onPaid: the full order or the deposit paid moves the purchase on; the
// balance paid makes it paid in full and commits the units the presale
// held for it.
func (s *Service) onPaid(ctx context.Context, e outbox.Event) error {
	ev, err := presaleEvent(e)
	if ev == nil || err != nil {
		return err
	}
	now := s.Clock.Now()
	return s.update(ctx, ev.Activity.Ref, func(po *Order) (Change, error) {
		var c Change
		switch ev.Activity.Kind {
		case order.ActivityPresale, order.ActivityPresaleDeposit:
			if po.Status != Unpaid || po.OrderID != ev.OrderID {
				return Change{}, ErrNoop
			}
			po.Status = DepositPaid
			if ev.Activity.Kind == order.ActivityPresale {
				po.Status, po.PaidAt = Paid, &now
			}
		case order.ActivityPresaleBalance:
			if po.Status != DepositPaid {
				// A balance is placed only while the deposit is paid and
				// is settled before the purchase ends; money for any
				// other is found by the ledger's and finance's checks.
				s.log().ErrorContext(ctx, "ALARM presale: a balance order was paid for a purchase that is not waiting for it",
					"presale_order_id", po.ID, "status", po.Status, "order_id", ev.OrderID)
				return Change{}, ErrNoop
			}
			po.Status, po.PaidAt, po.BalanceOrderID = Paid, &now, ev.OrderID
			if po.Stock == StockReserved {
				po.Stock, c.Stock = StockSold, inventory.Commit
			}
		}
		po.UpdatedAt = now
		topic := TopicDepositPaid
		if po.Status == Paid {
			topic = TopicPaid
		}
		c.Events = []outbox.Event{event(topic, po, now)}
		return c, nil
	})
}

// onUnpaid: the first order ended unpaid ends the purchase and gives its
// units back (to the count, the buyer's limit and, in deposit mode, the
// stock); a balance order that ended unpaid is forgotten, and the buyer may
// place another while the window is open.
func (s *Service) onUnpaid(ctx context.Context, e outbox.Event) error {
	ev, err := presaleEvent(e)
	if ev == nil || err != nil {
		return err
	}
	now := s.Clock.Now()
	return s.update(ctx, ev.Activity.Ref, func(po *Order) (Change, error) {
		if ev.Activity.Kind == order.ActivityPresaleBalance {
			if po.BalanceOrderID != ev.OrderID || po.Status != DepositPaid {
				return Change{}, ErrNoop
			}
			po.BalanceOrderID, po.UpdatedAt = "", now
			return Change{}, nil
		}
		if po.Status != Unpaid || po.OrderID != ev.OrderID {
			return Change{}, ErrNoop
		}
		po.Status, po.EndedAt, po.UpdatedAt = Closed, &now, now
		c := Change{Free: true, Stock: release(po), Events: []outbox.Event{event(TopicClosed, po, now)}}
		return c, nil
	})
}

// release gives back the stock the presale holds for po, if it holds any.
func release(po *Order) inventory.Reason {
	if po.Stock != StockReserved {
		return ""
	}
	po.Stock = StockReleased
	return inventory.Release
}

// onRefunded: an order of the purchase refunded in full. The whole price,
// or the balance (the goods), refunded ends a paid purchase; the deposit
// refunded before the balance was paid ends the purchase, its balance
// order closed and its stock released. A deposit refunded after the
// purchase was paid, or forfeited, changes nothing here.
func (s *Service) onRefunded(ctx context.Context, e outbox.Event) error {
	ev, err := presaleEvent(e)
	if ev == nil || err != nil {
		return err
	}
	if ev.Activity.Kind == order.ActivityPresaleDeposit {
		return s.depositRefunded(ctx, ev.Activity.Ref)
	}
	now := s.Clock.Now()
	return s.update(ctx, ev.Activity.Ref, func(po *Order) (Change, error) {
		goods := po.OrderID
		if ev.Activity.Kind == order.ActivityPresaleBalance {
			goods = po.BalanceOrderID
		}
		if po.Status != Paid || goods != ev.OrderID {
			return Change{}, ErrNoop
		}
		po.Status, po.EndedAt, po.UpdatedAt = Refunded, &now, now
		return Change{Events: []outbox.Event{event(TopicRefunded, po, now)}}, nil
	})
}

func (s *Service) depositRefunded(ctx context.Context, id string) error {
	po, err := s.Store.PresaleOrder(ctx, id)
	if errs.KindOf(err) == errs.NotFound || (err == nil && po.Status != DepositPaid) {
		return nil
	}
	if err != nil {
		return err
	}
	closed, paid, err := s.settleBalance(ctx, po, "the deposit was refunded")
	if err != nil || paid {
		return err
	}
	now := s.Clock.Now()
	return s.update(ctx, id, func(po *Order) (Change, error) {
		if po.Status != DepositPaid {
			return Change{}, ErrNoop
		}
		if po.BalanceOrderID != "" && po.BalanceOrderID != closed {
			return Change{}, fmt.Errorf("presale %s: balance order %s placed while its deposit was refunded", po.ID, po.BalanceOrderID)
		}
		po.Status, po.BalanceOrderID, po.EndedAt, po.UpdatedAt = Refunded, "", &now, now
		return Change{Stock: release(po), Events: []outbox.Event{event(TopicRefunded, po, now)}}, nil
	})
}

// settleBalance closes the purchase's live balance order, its payment
// settled with the platform first (order.Service.Close): a buyer paying at
// this very moment wins. It reports the balance order it found closed, or
// that the balance is paid.
func (s *Service) settleBalance(ctx context.Context, po *Order, reason string) (closed string, paid bool, err error) {
	if po.BalanceOrderID == "" {
		return "", false, nil
	}
	o, err := s.Orders.Order(ctx, po.BalanceOrderID)
	if err != nil {
		return "", false, err
	}
	if o.Status == order.PendingPayment {
		if _, err := s.Orders.Close(ctx, o.ID, reason); err != nil && errs.KindOf(err) != errs.Conflict {
			return "", false, err
		}
		if o, err = s.Orders.Order(ctx, o.ID); err != nil {
			return "", false, err
		}
	}
	switch o.Status {
	case order.Closed, order.Cancelled:
		return o.ID, false, nil
	case order.PendingPayment:
		return "", false, fmt.Errorf("presale %s: balance order %s is still open", po.ID, o.ID)
	}
	return "", true, nil
}
