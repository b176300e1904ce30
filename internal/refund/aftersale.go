package refund

import (
	"context"
	"fmt"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// AfterSaleInput is a buyer's request.
type AfterSaleInput struct {
	BuyerID string
	OrderID string
	Kind    Kind
	Reason  string
	Lines   []LineQty
}

// afterSaleStatuses are the order statuses an after-sale may be asked in:
// paid and not ended. A closed or cancelled order was never paid for
// (money that arrives for one anyway is refunded automatically).
var afterSaleStatuses = map[order.Status]bool{
	order.Paid: true, order.Shipped: true, order.Delivered: true, order.Completed: true,
}

// RequestAfterSale records a buyer's request. The units asked for must not
// be refunded already, and no other after-sale may be open on their lines.
func (s *Service) RequestAfterSale(ctx context.Context, in AfterSaleInput) (*AfterSale, error) {
	var l errs.List
	reason := checkText(&l, "reason", in.Reason, MaxReason, true)
	if in.Kind != RefundOnly && in.Kind != ReturnRefund {
		l.Add("kind", "invalid_kind", "kind is refund_only or return_refund")
	}
	if len(in.Lines) == 0 {
		l.Add("lines", "required", "name the lines and units")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	if !ids.Valid(in.OrderID) {
		return nil, order.ErrNotFound
	}
	p, err := s.Store.Position(ctx, in.OrderID)
	if err != nil {
		return nil, err
	}
	if p.BuyerID != in.BuyerID {
		return nil, order.ErrNotFound
	}
	if !afterSaleStatuses[p.OrderStatus] {
		return nil, ErrOrderNotEligible
	}
	if in.Kind == ReturnRefund && (p.OrderStatus == order.Paid || p.NoGoods) {
		return nil, ErrReturnNotShipped
	}
	paid, err := s.paid(ctx, in.OrderID)
	if err != nil {
		return nil, err
	}
	if s.Clock.Now().Sub(paid.PaidAt) > Window {
		return nil, ErrWindowOver
	}
	if p.Count >= MaxRefunds {
		return nil, ErrLimitReached
	}
	if p.Paid.PaymentID == "" {
		p.Paid = paid // never refunded: the position has not recorded it yet
	}
	// Pricing the request checks its lines and units against what is left
	// now, and that they are worth a refund; the amounts are decided again
	// when the refund starts, against what is left then.
	if _, err := p.Quote(in.Lines); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	a := &AfterSale{
		ID: ids.New(), OrderID: in.OrderID, BuyerID: in.BuyerID, Kind: in.Kind, Reason: reason,
		Lines: in.Lines, State: Requested, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.Store.CreateAfterSale(ctx, a, []outbox.Event{afterSaleEvent(TopicAfterSaleRequested, a, now)}); err != nil {
		return nil, err
	}
	return a, nil
}

// GetAfterSale is a buyer's read of their after-sale; another buyer's is not
// found.
func (s *Service) GetAfterSale(ctx context.Context, buyerID, id string) (*AfterSale, error) {
	a, err := s.AfterSale(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.BuyerID != buyerID {
		return nil, ErrAfterSaleNotFound
	}
	return a, nil
}

// AfterSale is an operator's read of any after-sale.
func (s *Service) AfterSale(ctx context.Context, id string) (*AfterSale, error) {
	if !ids.Valid(id) {
		return nil, ErrAfterSaleNotFound
	}
	return s.Store.AfterSale(ctx, id)
}

// AfterSales lists after-sales newest first. The buyer API always sets
// f.BuyerID to the caller.
func (s *Service) AfterSales(ctx context.Context, f AfterSaleFilter) (AfterSalePage, error) {
	f.Limit = pageLimit(f.Limit)
	return s.Store.AfterSales(ctx, f)
}

// WithdrawAfterSale is the buyer taking their request back before the
// refund starts.
func (s *Service) WithdrawAfterSale(ctx context.Context, buyerID, id string) (*AfterSale, error) {
	return s.decide(ctx, id, func(a *AfterSale) (string, error) {
		if a.BuyerID != buyerID {
			return "", ErrAfterSaleNotFound
		}
		if a.State == Withdrawn {
			return "", ErrNoop
		}
		if a.State != Requested && a.State != Approved {
			return "", badAfterSaleState(a.State, "withdrawn")
		}
		a.State = Withdrawn
		return TopicAfterSaleWithdrawn, nil
	})
}

// RejectAfterSale is the operator refusing a request, or a return whose
// goods did not come back as agreed. The note, which the buyer sees, is
// required.
func (s *Service) RejectAfterSale(ctx context.Context, id, operator, note string) (*AfterSale, error) {
	var l errs.List
	note = checkText(&l, "note", note, MaxNote, true)
	if err := l.Err(); err != nil {
		return nil, err
	}
	return s.decide(ctx, id, func(a *AfterSale) (string, error) {
		if a.State != Requested && a.State != Approved {
			return "", badAfterSaleState(a.State, "rejected")
		}
		a.State, a.Note, a.Operator = Rejected, note, operator
		return TopicAfterSaleRejected, nil
	})
}

// ApproveAfterSale is the operator agreeing to a request. A refund-only
// request starts its refund at once; a return waits for the goods
// (ReceiveReturn).
func (s *Service) ApproveAfterSale(ctx context.Context, id, operator, note string) (*AfterSale, error) {
	var l errs.List
	note = checkText(&l, "note", note, MaxNote, false)
	if err := l.Err(); err != nil {
		return nil, err
	}
	a, err := s.AfterSale(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Kind == ReturnRefund {
		return s.decide(ctx, id, func(a *AfterSale) (string, error) {
			if a.State != Requested {
				return "", badAfterSaleState(a.State, "approved")
			}
			a.State, a.Note, a.Operator = Approved, note, operator
			return TopicAfterSaleApproved, nil
		})
	}
	return s.refundAfterSale(ctx, a, Requested, TopicAfterSaleApproved, operator, note)
}

// ReceiveReturn is the operator confirming the returned goods arrived: the
// refund starts, and the goods go back to stock when it succeeds.
func (s *Service) ReceiveReturn(ctx context.Context, id, operator, note string) (*AfterSale, error) {
	var l errs.List
	note = checkText(&l, "note", note, MaxNote, false)
	if err := l.Err(); err != nil {
		return nil, err
	}
	a, err := s.AfterSale(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Kind != ReturnRefund {
		return nil, badAfterSaleState(a.State, "received: it is not a return")
	}
	return s.refundAfterSale(ctx, a, Approved, TopicAfterSaleReturned, operator, note)
}

// refundAfterSale starts the refund of an after-sale found in state from,
// moving it to refunding in the same transaction.
func (s *Service) refundAfterSale(ctx context.Context, a *AfterSale, from AfterSaleState, topic, operator, note string) (*AfterSale, error) {
	paid, err := s.paid(ctx, a.OrderID)
	if err != nil {
		return nil, err
	}
	var saved AfterSale
	_, err = s.start(ctx, Intent{Paid: paid, AfterSaleID: a.ID}, func(p *Position, a *AfterSale) (*Refund, error) {
		if a.State != from {
			return nil, badAfterSaleState(a.State, fmt.Sprintf("refunded from %s", from))
		}
		q, err := p.Quote(a.Lines)
		if err != nil {
			return nil, err
		}
		r := s.newRefund(p, q, FromAfterSale, a.Reason, a.Kind == ReturnRefund || unshipped(p), operator)
		r.AfterSaleID = a.ID
		return r, nil
	}, func(a *AfterSale, r *Refund) []outbox.Event {
		now := s.Clock.Now()
		a.State, a.RefundID, a.Note, a.Operator, a.UpdatedAt = Refunding, r.ID, note, operator, now
		saved = *a
		return []outbox.Event{afterSaleEvent(topic, a, now)}
	})
	if err != nil {
		return nil, err
	}
	return &saved, nil
}

// decide applies an operator's or buyer's decision that starts no refund;
// it returns the topic of the event to emit.
func (s *Service) decide(ctx context.Context, id string, fn func(a *AfterSale) (string, error)) (*AfterSale, error) {
	if !ids.Valid(id) {
		return nil, ErrAfterSaleNotFound
	}
	return s.Store.UpdateAfterSale(ctx, id, func(a *AfterSale) ([]outbox.Event, error) {
		topic, err := fn(a)
		if err != nil {
			return nil, err
		}
		now := s.Clock.Now()
		a.UpdatedAt = now
		return []outbox.Event{afterSaleEvent(topic, a, now)}, nil
	})
}
