package presale

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// EndBalance ends a deposit purchase whose balance window is over (the
// presale.balance_due job). A balance order still open is closed first,
// its payment settled with the platform, so a buyer paying in the last
// second is paid, not forfeited. A balance that went unpaid forfeits the
// deposit (Civil Code art. 587: the party who paid a deposit and fails to
// perform may not claim it back): the purchase's stock is released, and
// what is left of the deposit (less any refund finance made of it) moves on
// the ledger from sales revenue to forfeited deposits.
//
// While the deposit is not settled, or a refund of it is in flight, the
// job fails and is retried: the amount kept must be final when booked.
func (s *Service) EndBalance(ctx context.Context, id string) (*Order, error) {
	po, err := s.PresaleOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	switch {
	case po.Mode != Deposit, po.Status != Unpaid && po.Status != DepositPaid:
		return po, nil
	case po.Status == Unpaid:
		return nil, fmt.Errorf("presale %s: the deposit is not settled yet", po.ID)
	case now.Before(*po.BalanceEndsAt):
		return nil, fmt.Errorf("presale %s: the balance window ends at %s, not yet", po.ID, po.BalanceEndsAt)
	}
	closed, paid, err := s.settleBalance(ctx, po, "the balance window ended")
	if err != nil || paid {
		return po, err
	}
	kept, err := s.kept(ctx, po)
	if err != nil {
		return nil, err
	}
	if kept > 0 {
		if err := s.ensureAccount(ctx); err != nil {
			return nil, err
		}
	}
	return s.Store.UpdatePresaleOrder(ctx, id, func(po *Order) (Change, error) {
		if po.Status != DepositPaid {
			return Change{}, ErrNoop
		}
		if po.BalanceOrderID != "" && po.BalanceOrderID != closed {
			return Change{}, fmt.Errorf("presale %s: balance order %s placed after the window", po.ID, po.BalanceOrderID)
		}
		now := s.Clock.Now()
		po.Status, po.Forfeited, po.BalanceOrderID, po.EndedAt, po.UpdatedAt = Forfeited, kept, "", &now, now
		c := Change{Stock: release(po), Events: []outbox.Event{event(TopicForfeited, po, now)}}
		if kept > 0 {
			c.Transfers = []ledger.Transfer{forfeitTransfer(po, now)}
		}
		return c, nil
	})
}

// kept is what the buyer paid of the deposit and was not refunded; it
// fails while a refund of the deposit is in flight.
func (s *Service) kept(ctx context.Context, po *Order) (money.Fen, error) {
	d, err := s.Orders.Order(ctx, po.OrderID)
	if err != nil {
		return 0, err
	}
	kept := d.Total
	f := refund.RefundFilter{OrderID: po.OrderID, Limit: refund.MaxLimit}
	for {
		page, err := s.Refunds.Refunds(ctx, f)
		if err != nil {
			return 0, err
		}
		for _, r := range page.Refunds {
			switch r.State {
			case refund.Succeeded:
				kept -= r.Amount
			case refund.Closed:
			default:
				return 0, fmt.Errorf("presale %s: refund %s of the deposit is %s", po.ID, r.ID, r.State)
			}
		}
		if page.NextCursor == "" {
			return max(kept, 0), nil
		}
		f.Cursor = page.NextCursor
	}
}

var accountOnce sync.Map // per Book: the forfeit account exists

// ensureAccount creates the forfeit account, once per process and book
// (CreateAccount is idempotent; a failure is retried on the next call).
func (s *Service) ensureAccount(ctx context.Context) error {
	if _, done := accountOnce.Load(s.Book); done {
		return nil
	}
	if err := s.Book.CreateAccount(ctx, Account); err != nil {
		return err
	}
	accountOnce.Store(s.Book, true)
	return nil
}

// onRefundSucceeded follows the refunds of deposit purchases. Units of the
// goods refunded (the balance order) take their deposit back with them:
// the buyer returning k units gets back k units' deposit too, through a
// refund of the deposit order keyed by the goods' refund. A refund of a
// forfeited deposit (finance's goodwill) moves its amount back from
// forfeited deposits to sales revenue, which the refund debited.
func (s *Service) onRefundSucceeded(ctx context.Context, e outbox.Event) error {
	var ev refund.RefundEvent
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return fmt.Errorf("presale: refund event %s: %w", e.ID, err)
	}
	po, err := s.Store.PresaleOrderOf(ctx, ev.OrderID)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	if err != nil || po.Mode != Deposit {
		return err
	}
	switch {
	case ev.OrderID == po.BalanceOrderID && ev.Source != refund.Adjustment:
		return s.refundDeposit(ctx, po, ev)
	case ev.OrderID == po.OrderID && po.Status == Forfeited:
		return s.reverseForfeit(ctx, po, ev)
	}
	return nil
}

func (s *Service) refundDeposit(ctx context.Context, po *Order, ev refund.RefundEvent) error {
	units := 0
	for _, l := range ev.Lines {
		units += l.Qty
	}
	if units == 0 {
		return nil
	}
	d, err := s.Orders.Order(ctx, po.OrderID)
	if err != nil || len(d.Lines) == 0 {
		return err
	}
	_, err = s.Refunds.Refund(ctx, refund.RefundInput{
		OrderID: d.ID, Lines: []refund.LineQty{{OrderLineID: d.Lines[0].ID, Qty: units}},
		Reason: "预售商品退款，定金随之退还 (the deposit of refunded presale goods)", Operator: "presale",
		Key: "presale_deposit:" + ev.RefundID,
	})
	if errs.Is(err, refund.CodeExceedsPaid) || errs.Is(err, refund.CodeExceedsQty) {
		// Finance gave the deposit back by hand first.
		s.log().WarnContext(ctx, "presale: the deposit of refunded goods was refunded already",
			"presale_order_id", po.ID, "refund_id", ev.RefundID)
		return nil
	}
	return err
}

func (s *Service) reverseForfeit(ctx context.Context, po *Order, ev refund.RefundEvent) error {
	now := s.Clock.Now()
	return s.update(ctx, po.ID, func(po *Order) (Change, error) {
		for _, r := range po.Reversals {
			if r.RefundID == ev.RefundID {
				return Change{}, ErrNoop
			}
		}
		amount := min(ev.Amount, po.Forfeited-po.reversed())
		if po.Status != Forfeited || amount <= 0 {
			return Change{}, ErrNoop
		}
		po.Reversals, po.UpdatedAt = append(po.Reversals, Reversal{RefundID: ev.RefundID, Amount: amount}), now
		return Change{Transfers: []ledger.Transfer{forfeitReversal(po, ev.RefundID, amount, now)}}, nil
	})
}

// RefundInput is finance refunding a purchase in full.
type RefundInput struct {
	PresaleOrderID, Reason, Operator string
	// Key makes the call idempotent: the same key starts no second refund.
	Key string
}

// Refund refunds what a purchase has paid, through the refund capability:
// paid in full, its order (or, in deposit mode, its balance order: the
// deposit follows the goods' units, see onRefundSucceeded); with only the
// deposit paid, or forfeited, the deposit. It returns the refund started.
func (s *Service) Refund(ctx context.Context, in RefundInput) (*refund.Refund, error) {
	if strings.TrimSpace(in.Reason) == "" {
		return nil, errs.Field("reason", "required", "reason is required")
	}
	po, err := s.PresaleOrder(ctx, in.PresaleOrderID)
	if err != nil {
		return nil, err
	}
	target := ""
	switch {
	case po.Status == Paid && po.Mode == Deposit:
		target = po.BalanceOrderID
	case po.Status == Paid, po.Status == DepositPaid, po.Status == Forfeited:
		target = po.OrderID
	default:
		return nil, ErrNothingToRefund
	}
	key := ""
	if in.Key != "" {
		key = "presale:" + in.Key
	}
	r, err := s.Refunds.Refund(ctx, refund.RefundInput{OrderID: target, All: true, Reason: in.Reason, Operator: in.Operator, Key: key})
	if errs.Is(err, refund.CodeExceedsPaid) {
		return nil, ErrNothingToRefund
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}
