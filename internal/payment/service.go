package payment

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Payers gives the openid a buyer pays with: JSAPI prepay names the payer.
type Payers interface {
	OpenID(ctx context.Context, buyerID string) (string, error)
}

// Config holds the payment rules that are the operator's to set.
type Config struct {
	// FeeBP is the platform's fee rate; default 60 bp (0.6%), WeChat Pay's
	// standard rate for physical goods.
	FeeBP money.BP
	// ReconcileAfter is how long after a prepay we first ask the platform
	// what became of it, in case its callback never comes; default 5
	// minutes (WeChat Pay itself also refuses to close a transaction
	// younger than that).
	ReconcileAfter time.Duration
	// Description is what the buyer sees on the payment page and their
	// bill; default the first line's title and the number of lines. It
	// must depend on the order alone: a repeated prepay must repeat it.
	Description func(o *order.Order) string
}

// DefaultConfig is the defaults above.
var DefaultConfig = Config{FeeBP: 60, ReconcileAfter: 5 * time.Minute}

// Service runs the payment rules.
type Service struct {
	Store   Store
	Orders  *order.Service
	Gateway Gateway
	Payers  Payers
	Clock   clock.Clock
	Log     *slog.Logger
	Config  Config
}

// Get returns the payment of a buyer's order; another buyer's order, or an
// order not yet paid for, is not found.
func (s *Service) Get(ctx context.Context, buyerID, orderID string) (*Payment, error) {
	if _, err := s.Orders.Get(ctx, buyerID, orderID); err != nil {
		return nil, err
	}
	return s.Store.PaymentByOrder(ctx, orderID)
}

// Pay starts (or resumes) paying a buyer's order and returns what the mini
// program passes to wx.requestPayment. An order has one payment and one
// out_trade_no, so paying again returns fresh parameters for the same
// platform transaction, never a second one.
func (s *Service) Pay(ctx context.Context, buyerID, orderID string) (PayParams, error) {
	o, err := s.Orders.Get(ctx, buyerID, orderID)
	if err != nil {
		return PayParams{}, err
	}
	now := s.Clock.Now()
	switch {
	case o.Status != order.PendingPayment:
		return PayParams{}, notPayable("an order that is %s cannot be paid", o.Status)
	case !now.Before(o.PayBy):
		return PayParams{}, notPayable("the order's time to pay has run out")
	case o.Total <= 0:
		// WeChat Pay takes at least 1 fen; an order with nothing to pay
		// is not this capability's to complete.
		return PayParams{}, notPayable("the order has nothing to pay")
	}
	p, err := s.paymentOf(ctx, o, now)
	if err != nil {
		return PayParams{}, err
	}
	switch p.State {
	case Succeeded:
		return PayParams{}, notPayable("the order is paid")
	case Closed:
		return PayParams{}, notPayable("the order's payment is closed")
	}
	prepayID, params, err := s.Gateway.Prepay(ctx, PrepayRequest{
		OutTradeNo: p.OutTradeNo, Description: s.describe(o), Amount: p.Amount,
		PayerOpenID: p.PayerOpenID, ExpiresAt: o.PayBy,
	})
	if err != nil {
		return PayParams{}, err
	}
	if err := s.recordPrepay(ctx, p.OutTradeNo, prepayID); err != nil {
		return PayParams{}, err
	}
	return params, nil
}

// paymentOf returns the order's payment, creating it (with its reconcile
// job) if it has none. The row exists before the platform hears of the
// transaction, so whatever closes the order finds it and settles it first.
func (s *Service) paymentOf(ctx context.Context, o *order.Order, now time.Time) (*Payment, error) {
	p, err := s.Store.PaymentByOrder(ctx, o.ID)
	if !errs.Is(err, CodeNotFound) {
		return p, err
	}
	openID, err := s.Payers.OpenID(ctx, o.BuyerID)
	if err != nil {
		return nil, err
	}
	p = &Payment{
		ID: ids.New(), OrderID: o.ID, BuyerID: o.BuyerID, OutTradeNo: OutTradeNo(o.ID),
		Amount: o.Total, PayerOpenID: openID, State: Pending, CreatedAt: now, UpdatedAt: now,
	}
	js := []jobs.Job{reconcileJob(p.OutTradeNo, now.Add(s.config().ReconcileAfter))}
	err = s.Store.CreatePayment(ctx, p, js)
	if errs.Is(err, CodeExists) {
		// Another request of the buyer's created it first: use theirs.
		return s.Store.PaymentByOrder(ctx, o.ID)
	}
	return p, err
}

// recordPrepay keeps the platform's prepay id. A payment settled while the
// prepay was in flight (the order closing) has its transaction closed at the
// platform again, best effort, and the buyer is told the order cannot be
// paid; should the money come anyway, it is captured after close and
// refunded.
func (s *Service) recordPrepay(ctx context.Context, outTradeNo, prepayID string) error {
	p, err := s.Store.UpdatePayment(ctx, outTradeNo, func(p *Payment, _ *order.Order) (Capture, error) {
		if p.State != Pending || p.PrepayID == prepayID {
			return Capture{}, ErrNoop
		}
		p.PrepayID, p.UpdatedAt = prepayID, s.Clock.Now()
		return Capture{}, nil
	})
	if err != nil {
		return err
	}
	switch p.State {
	case Succeeded:
		return notPayable("the order is paid")
	case Closed:
		if err := s.Gateway.ClosePayment(ctx, outTradeNo); err != nil && !errs.Is(err, CodeTradePaid) {
			s.log().Warn("payment: could not close a transaction prepaid after its payment closed", "out_trade_no", outTradeNo, "err", err)
		}
		return notPayable("the order's payment is closed")
	}
	return nil
}

// Capture applies a verified success (from a callback the gateway parsed,
// or a query): the one path by which money is recorded as received. It is
// idempotent: the same success again changes nothing and returns nil. The
// platform's merchant and app ids are the gateway's to check; the amount is
// checked here against the payment and the order.
func (s *Service) Capture(ctx context.Context, tx Transaction) (*Payment, error) {
	if !paid(tx.State) {
		return nil, ErrNotSuccess
	}
	var orderID string
	var orderTotal money.Fen
	p, err := s.Store.UpdatePayment(ctx, tx.OutTradeNo, func(p *Payment, o *order.Order) (Capture, error) {
		orderID, orderTotal = o.ID, o.Total
		return s.capture(p, o, tx, s.Clock.Now())
	})
	if errs.Is(err, CodeAmountMismatch) {
		// Money that does not match the order is never captured; someone
		// must look at it (a tampered order, a platform or pricing bug).
		s.log().Error("ALARM payment: amount mismatch; not captured",
			"order_id", orderID, "out_trade_no", tx.OutTradeNo, "transaction_id", tx.TransactionID,
			"order_total", int64(orderTotal), "total", int64(tx.Total), "payer_total", int64(tx.PayerTotal))
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// capture decides what a verified success does to a payment and its order,
// inside the store's transaction.
func (s *Service) capture(p *Payment, o *order.Order, tx Transaction, now time.Time) (Capture, error) {
	if tx.Total != p.Amount || p.Amount != o.Total || tx.PayerTotal < 0 || tx.PayerTotal > tx.Total {
		return Capture{}, ErrAmountMismatch
	}
	if p.State == Succeeded {
		return Capture{}, ErrNoop
	}
	// A payment we closed may still succeed: the platform had it paid
	// before our close reached it. The money is real, so it is captured.
	paidAt := tx.SuccessTime
	if paidAt.IsZero() {
		paidAt = now
	}
	paidAt = paidAt.UTC().Truncate(time.Microsecond) // what the stores keep
	p.State, p.TransactionID, p.PaidAt, p.UpdatedAt = Succeeded, tx.TransactionID, &paidAt, now
	p.Fee = p.Amount.Rate(s.config().FeeBP)

	var c Capture
	topic := TopicCaptured
	switch o.Status {
	case order.PendingPayment:
		oc, err := s.Orders.PaidChange(o, paidAt)
		if err != nil {
			return Capture{}, err
		}
		c.Order = &oc
	case order.Closed, order.Cancelled:
		// The close won the race and released the stock: never make the
		// order paid again. The event has the money refunded.
		topic = TopicCapturedAfterClose
	default:
		// Already paid by another path (order.Service.MarkPaid): the
		// order stays as it is, the money is still recorded.
	}
	c.Transfers = transfers(p, now)
	c.Events = []outbox.Event{outbox.New(topic, o.ID, eventOf(p, o), now)}
	return c, nil
}

// transfers are a capture's ledger postings: the money into clearing at the
// platform as merchant revenue, and the platform's fee out of clearing.
func transfers(p *Payment, now time.Time) []ledger.Transfer {
	ts := []ledger.Transfer{{
		ID: ledger.PaymentID(p.ID), Kind: ledger.KindPayment, Ref: p.OrderID, State: ledger.Posted,
		Entries:   []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, p.Amount), ledger.Cr(ledger.MerchantRevenue, p.Amount)},
		CreatedAt: now,
	}}
	if p.Fee > 0 {
		ts = append(ts, ledger.Transfer{
			ID: ledger.PaymentFeeID(p.ID), Kind: ledger.KindPaymentFee, Ref: p.OrderID, State: ledger.Posted,
			Entries:   []ledger.Entry{ledger.Dr(ledger.PlatformFees, p.Fee), ledger.Cr(ledger.ClearingWeChat, p.Fee)},
			CreatedAt: now,
		})
	}
	return ts
}

// BeforeClose settles an order's payment before the order closes; it is
// order.Service's BeforeClose hook. Without a payment, or with one already
// settled, there is nothing to do. A pending one is asked about at the
// platform: if the money arrived it is captured (and the close then finds
// the order paid); otherwise the transaction is closed at the platform and
// only then here, so no money can arrive for stock that comes back.
func (s *Service) BeforeClose(ctx context.Context, orderID string) error {
	p, err := s.Store.PaymentByOrder(ctx, orderID)
	if errs.Is(err, CodeNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.State != Pending {
		return nil
	}
	return s.settle(ctx, p.OutTradeNo)
}

// settle ends a pending payment whose order will not wait for it: captured
// if the platform has it paid, else closed there and then here.
func (s *Service) settle(ctx context.Context, outTradeNo string) error {
	tx, err := s.Gateway.QueryPayment(ctx, outTradeNo)
	switch {
	case errs.Is(err, CodeTradeNotFound):
		// The prepay never reached the platform: nothing there to close.
		return s.markClosed(ctx, outTradeNo)
	case err != nil:
		return err
	case paid(tx.State):
		_, err := s.Capture(ctx, tx)
		return err
	case tx.State == TradeClosed || tx.State == TradeRevoked:
		return s.markClosed(ctx, outTradeNo)
	}
	err = s.Gateway.ClosePayment(ctx, outTradeNo)
	if errs.Is(err, CodeTradePaid) {
		// Paid between our query and our close.
		if tx, err = s.Gateway.QueryPayment(ctx, outTradeNo); err != nil {
			return err
		}
		if !paid(tx.State) {
			return fmt.Errorf("payment %s: the platform refused to close it as paid, but says %s", outTradeNo, tx.State)
		}
		_, err = s.Capture(ctx, tx)
		return err
	}
	if err != nil && !errs.Is(err, CodeTradeNotFound) {
		return err
	}
	return s.markClosed(ctx, outTradeNo)
}

// markClosed records that the platform will take no money for a payment.
func (s *Service) markClosed(ctx context.Context, outTradeNo string) error {
	_, err := s.Store.UpdatePayment(ctx, outTradeNo, func(p *Payment, _ *order.Order) (Capture, error) {
		if p.State != Pending {
			return Capture{}, ErrNoop
		}
		p.State, p.UpdatedAt = Closed, s.Clock.Now()
		return Capture{}, nil
	})
	return err
}

// paid reports whether the platform has the money: SUCCESS, or REFUND (it
// was paid, then refunded).
func paid(st TradeState) bool { return st == TradeSuccess || st == TradeRefund }

// describe is the payment's description: the operator's, or the default,
// cut to WeChat Pay's 127 bytes on a character boundary.
func (s *Service) describe(o *order.Order) string {
	var d string
	switch {
	case s.Config.Description != nil:
		d = s.Config.Description(o)
	case len(o.Lines) == 1:
		d = o.Lines[0].Title
	case len(o.Lines) > 1:
		d = fmt.Sprintf("%s 等 %d 件商品", o.Lines[0].Title, len(o.Lines))
	}
	const limit = 127
	for len(d) > limit {
		_, size := utf8.DecodeLastRuneInString(d)
		d = d[:len(d)-size]
	}
	return d
}

func (s *Service) config() Config {
	c := s.Config
	if c.FeeBP <= 0 {
		c.FeeBP = DefaultConfig.FeeBP
	}
	if c.ReconcileAfter <= 0 {
		c.ReconcileAfter = DefaultConfig.ReconcileAfter
	}
	return c
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}
