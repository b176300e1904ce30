package refund

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
)

// Payments reads the payment an order's refunds give back from
// (payment.Store has it).
type Payments interface {
	PaymentByOrder(ctx context.Context, orderID string) (*payment.Payment, error)
}

// Config holds the refund schedule.
type Config struct {
	// ReconcileAfter is when a refund the platform accepted is first asked
	// about, in case its callback never comes; each later query waits twice
	// as long, up to ReconcileMax. Defaults 5 minutes and 6 hours: wallet
	// refunds settle in minutes, bank card refunds take working days.
	ReconcileAfter time.Duration
	ReconcileMax   time.Duration
}

// DefaultConfig is the schedule siyu ships with.
var DefaultConfig = Config{ReconcileAfter: 5 * time.Minute, ReconcileMax: 6 * time.Hour}

// Service runs the refund rules.
type Service struct {
	Store    Store
	Payments Payments
	Gateway  payment.Gateway
	Clock    clock.Clock
	Log      *slog.Logger
	Config   Config
}

// Text limits. Reasons and notes are shown to the buyer and kept for audit;
// the platform shows at most 80 characters of a reason, and the gateway
// clips it, so a longer one is still useful to the operator.
const (
	MaxReason = 200
	MaxNote   = 200
)

// RefundInput is finance refunding an order directly, without a request.
type RefundInput struct {
	OrderID string
	// Lines and units to refund; or All, for everything left.
	Lines []LineQty
	All   bool
	// Return: the goods came back, so stock goes back on success (as it
	// does anyway for an order not shipped yet).
	Return   bool
	Reason   string
	Operator string
	// Key, if set, makes the call idempotent: a second call with the same
	// key returns the first refund.
	Key string
}

// Refund starts a refund by finance. It returns the refund pending: the
// refund.send job sends it.
func (s *Service) Refund(ctx context.Context, in RefundInput) (*Refund, error) {
	var l errs.List
	reason := checkText(&l, "reason", in.Reason, MaxReason, true)
	if in.All && len(in.Lines) > 0 {
		l.Add("lines", "lines_with_all", "name lines or ask for all, not both")
	}
	if !in.All && len(in.Lines) == 0 {
		l.Add("lines", "required", "name the lines and units to refund, or ask for all")
	}
	if len(in.Key) > 200 {
		l.Add("key", "too_long", "at most 200 characters")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	paid, err := s.paid(ctx, in.OrderID)
	if err != nil {
		return nil, err
	}
	key := ""
	if in.Key != "" {
		key = "finance:" + in.Key
	}
	return s.start(ctx, Intent{Paid: paid, Key: key}, func(p *Position, _ *AfterSale) (*Refund, error) {
		req := in.Lines
		if in.All {
			if req = p.Everything(); len(req) == 0 {
				return nil, ErrExceedsPaid // every unit is refunded or being refunded
			}
		}
		q, err := p.Quote(req)
		if err != nil {
			return nil, err
		}
		return s.newRefund(p, q, ByFinance, reason, in.Return || unshipped(p), in.Operator), nil
	}, nil)
}

// RefundCapturedAfterClose gives back, in full, money that arrived for an
// order that had already closed or been cancelled (its stock released, so
// the sale cannot stand). It runs once per payment however often it is
// called: the refund is keyed by the payment.
func (s *Service) RefundCapturedAfterClose(ctx context.Context, orderID, paymentID string) (*Refund, error) {
	paid, err := s.paid(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if paid.PaymentID != paymentID {
		return nil, errs.E(errs.Conflict, CodeNotPaid, "payment %s is not the order's captured payment", paymentID)
	}
	return s.start(ctx, Intent{Paid: paid, Key: "captured_after_close:" + paymentID}, func(p *Position, _ *AfterSale) (*Refund, error) {
		q, err := p.Remainder()
		if err != nil {
			return nil, err
		}
		return s.newRefund(p, q, Automatic, "payment arrived after the order closed", false, ""), nil
	}, nil)
}

// AdjustInput is the system lowering the price of a paid order.
type AdjustInput struct {
	OrderID string
	Amount  money.Fen
	Reason  string
	// Key makes it happen once: the same key gives the first refund back.
	Key string
}

// Adjust gives back part of what an order's lines cost, keeping the sale:
// a group buy's team that ended at a better tier than a member paid for.
// It runs once per key however often it is called.
func (s *Service) Adjust(ctx context.Context, in AdjustInput) (*Refund, error) {
	var l errs.List
	reason := checkText(&l, "reason", in.Reason, MaxReason, true)
	if in.Key == "" || len(in.Key) > 200 {
		l.Add("key", "required", "an adjustment needs a key of at most 200 characters")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	paid, err := s.paid(ctx, in.OrderID)
	if err != nil {
		return nil, err
	}
	return s.start(ctx, Intent{Paid: paid, Key: "adjust:" + in.Key}, func(p *Position, _ *AfterSale) (*Refund, error) {
		q, err := p.Adjust(in.Amount)
		if err != nil {
			return nil, err
		}
		return s.newRefund(p, q, Adjustment, reason, false, ""), nil
	}, nil)
}

// build makes the refund a plan records, from the order's position and the
// intent's after-sale (if any).
type build func(p *Position, a *AfterSale) (*Refund, error)

// start records a refund's intent: the refund, its reservation (by the
// store), its pending transfer, the refund.requested event and the send job,
// in one transaction. onAfterSale, if set, changes the intent's after-sale
// to go with the refund and returns its events.
func (s *Service) start(ctx context.Context, in Intent, b build, onAfterSale func(a *AfterSale, r *Refund) []outbox.Event) (*Refund, error) {
	return s.Store.CreateRefund(ctx, in, func(p *Position, a *AfterSale) (*Refund, Change, error) {
		now := s.Clock.Now()
		if now.Sub(p.Paid.PaidAt) > Window {
			return nil, Change{}, ErrWindowOver
		}
		if p.Count >= MaxRefunds {
			return nil, Change{}, ErrLimitReached
		}
		r, err := b(p, a)
		if err != nil {
			return nil, Change{}, err
		}
		r.Key = in.Key
		c := Change{
			Transfers: []ledger.Transfer{intentTransfer(r, now)},
			Events:    []outbox.Event{refundEvent(TopicRequested, r, now)},
			Jobs:      []jobs.Job{sendJob(r, now)},
		}
		if a != nil && onAfterSale != nil {
			c.Events = append(c.Events, onAfterSale(a, r)...)
		}
		return r, c, nil
	})
}

// unshipped reports whether the order's goods are still in the warehouse:
// refunding them puts their units back on hand, as a return does.
func unshipped(p *Position) bool { return p.OrderStatus == order.Paid }

func (s *Service) newRefund(p *Position, q Quote, src Source, reason string, ret bool, operator string) *Refund {
	now := s.Clock.Now()
	id := ids.New()
	return &Refund{
		ID: id, OrderID: p.OrderID, BuyerID: p.BuyerID, PaymentID: p.Paid.PaymentID,
		OutTradeNo: p.Paid.OutTradeNo, OutRefundNo: OutRefundNo(id),
		Source: src, Reason: reason, Lines: q.Lines, Shipping: q.Shipping, Amount: q.Amount, Fee: q.Fee,
		Total: p.Paid.Amount, Full: q.Full, Return: ret && !p.NoGoods, State: Pending, Operator: operator,
		CreatedAt: now, UpdatedAt: now,
	}
}

// paid is the order's captured payment, which every refund gives back from.
func (s *Service) paid(ctx context.Context, orderID string) (Paid, error) {
	if !ids.Valid(orderID) {
		return Paid{}, ErrNotPaid
	}
	p, err := s.Payments.PaymentByOrder(ctx, orderID)
	if errs.KindOf(err) == errs.NotFound {
		return Paid{}, ErrNotPaid
	}
	if err != nil {
		return Paid{}, err
	}
	if p.State != payment.Succeeded || p.PaidAt == nil {
		return Paid{}, ErrNotPaid
	}
	return Paid{PaymentID: p.ID, OrderID: p.OrderID, OutTradeNo: p.OutTradeNo, Amount: p.Amount, Fee: p.Fee, PaidAt: *p.PaidAt}, nil
}

// Get returns one refund.
func (s *Service) Get(ctx context.Context, id string) (*Refund, error) {
	if !ids.Valid(id) {
		return nil, ErrNotFound
	}
	return s.Store.Refund(ctx, id)
}

// Refunds lists refunds newest first.
func (s *Service) Refunds(ctx context.Context, f RefundFilter) (RefundPage, error) {
	f.Limit = pageLimit(f.Limit)
	return s.Store.Refunds(ctx, f)
}

// Position returns what an order paid and what of it is refunded.
func (s *Service) Position(ctx context.Context, orderID string) (*Position, error) {
	return s.Store.Position(ctx, orderID)
}

func pageLimit(n int) int { return page.Size(n, DefaultLimit, MaxLimit) }

// checkText trims a reason or note and checks its length in characters
// (runes: these are mostly Chinese).
func checkText(l *errs.List, field, s string, limit int, required bool) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		l.Add(field, "invalid_text", "not valid UTF-8")
	case n == 0 && required:
		l.Add(field, "required", "%s is required", field)
	case n > limit:
		l.Add(field, "too_long", "at most %d characters", limit)
	}
	return s
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) config() Config {
	c := s.Config
	if c.ReconcileAfter <= 0 {
		c.ReconcileAfter = DefaultConfig.ReconcileAfter
	}
	if c.ReconcileMax <= 0 {
		c.ReconcileMax = DefaultConfig.ReconcileMax
	}
	return c
}
