package share

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// RegisterConsumers subscribes attribution to the order events.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(order.TopicPaid, s.OnOrderPaid)
}

// OnOrderPaid credits a paid order to the last share that touched its
// buyer. order.paid rather than payment.captured: it names the order's
// move to paid whatever path paid it, and never fires for money that
// arrived after the order closed. It is safe to deliver twice: the store
// keeps one credit per order.
func (s *Service) OnOrderPaid(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return fmt.Errorf("share: order.paid payload: %w", err)
	}
	if ev.To != order.Paid {
		return nil
	}
	_, err := s.Attribute(ctx, ev.OrderID)
	return err
}

// Attribute credits a paid order to the buyer's latest visit, within the
// window before payment, of another buyer's share that leads to it. It
// returns the credit (the existing one, if the order was credited before),
// or nil when no share brought the order.
func (s *Service) Attribute(ctx context.Context, orderID string) (*Credit, error) {
	if c, err := s.Store.ShareCredit(ctx, orderID); err == nil {
		return c, nil
	} else if !errs.Is(err, ErrNotCredited.Code) {
		return nil, err
	}
	o, err := s.Orders.Order(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if o.PaidAt == nil {
		return nil, nil
	}
	paid := *o.PaidAt
	touches, err := s.Store.ShareTouches(ctx, o.BuyerID, paid.Add(-s.window()), paid)
	if err != nil {
		return nil, err
	}
	var won *Touch
	for i := range touches {
		if matches(touches[i].Share, o) {
			won = &touches[i]
			break
		}
	}
	if won == nil {
		return nil, nil
	}
	chain, err := s.chain(ctx, won.Share)
	if err != nil {
		return nil, err
	}
	first, err := s.firstPaid(ctx, o)
	if err != nil {
		return nil, err
	}
	c := &Credit{
		OrderID: o.ID, ShareID: won.Share.ID, SharerID: won.Share.SharerID, BuyerID: o.BuyerID,
		Amount: o.Total, NewBuyer: first, Chain: chain, Scene: won.Visit.Scene, At: paid,
	}
	if _, err := s.Store.AddShareCredit(ctx, c); err != nil {
		return nil, err
	}
	// A concurrent delivery may have won the insert; both computed the
	// same credit from the same rows, so reading it back changes nothing.
	return s.Store.ShareCredit(ctx, orderID)
}

// chain is the share and its ancestors, nearest first.
func (s *Service) chain(ctx context.Context, sh Share) ([]string, error) {
	out := []string{sh.ID}
	for p := sh.ParentID; p != "" && len(out) < MaxDepth; {
		parent, err := s.Store.ShareByID(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, parent.ID)
		p = parent.ParentID
	}
	return out, nil
}

// firstPaid reports whether o is its buyer's first paid order: no other of
// their orders was paid before it (refunded ones included: they bought).
func (s *Service) firstPaid(ctx context.Context, o *order.Order) (bool, error) {
	f := order.ListFilter{BuyerID: o.BuyerID, Limit: 100}
	for {
		page, err := s.Orders.Orders(ctx, f)
		if err != nil {
			return false, err
		}
		for _, other := range page.Orders {
			if other.ID == o.ID || other.PaidAt == nil {
				continue
			}
			if other.PaidAt.Before(*o.PaidAt) || (other.PaidAt.Equal(*o.PaidAt) && other.ID < o.ID) {
				return false, nil
			}
		}
		if page.NextCursor == "" {
			return true, nil
		}
		f.Cursor = page.NextCursor
	}
}
