package payment

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// The settle and reconcile paths decide on what the platform says; these
// tests script the platform and keep the rows in memory. The conformance
// suite (internal/store/storetest) runs the same paths on both engines.

type answer struct {
	state TradeState
	err   error
}

// scriptedGateway answers queries in turn (the last answer repeats) and
// records every call.
type scriptedGateway struct {
	queries  []answer
	closeErr error
	onPrepay func()
	calls    []string
}

func (g *scriptedGateway) Prepay(_ context.Context, r PrepayRequest) (string, PayParams, error) {
	g.calls = append(g.calls, "prepay")
	if g.onPrepay != nil {
		g.onPrepay()
	}
	return "wx1", PayParams{Package: "prepay_id=wx1"}, nil
}

func (g *scriptedGateway) QueryPayment(_ context.Context, no string) (Transaction, error) {
	g.calls = append(g.calls, "query")
	a := g.queries[0]
	if len(g.queries) > 1 {
		g.queries = g.queries[1:]
	}
	if a.err != nil {
		return Transaction{}, a.err
	}
	tx := Transaction{OutTradeNo: no, State: a.state, Total: 5000}
	if paid(a.state) {
		tx.TransactionID, tx.PayerTotal, tx.SuccessTime = "4200"+no, 5000, t0
	}
	return tx, nil
}

func (g *scriptedGateway) ClosePayment(context.Context, string) error {
	g.calls = append(g.calls, "close")
	return g.closeErr
}

func (g *scriptedGateway) Refund(context.Context, RefundRequest) (RefundResult, error) {
	return RefundResult{}, errors.New("not scripted")
}

func (g *scriptedGateway) QueryRefund(context.Context, string) (RefundResult, error) {
	return RefundResult{}, errors.New("not scripted")
}

// memStore holds one payment and its order, and implements both stores as
// far as these paths use them.
type memStore struct {
	mu     sync.Mutex
	p      *Payment
	o      *order.Order
	events []outbox.Event
}

func (m *memStore) CreatePayment(context.Context, *Payment, []jobs.Job) error {
	return errors.New("not used")
}

func (m *memStore) PaymentByOrder(_ context.Context, orderID string) (*Payment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p == nil || m.p.OrderID != orderID {
		return nil, ErrNotFound
	}
	p := *m.p
	return &p, nil
}

func (m *memStore) PaymentByOutTradeNo(_ context.Context, no string) (*Payment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p == nil || m.p.OutTradeNo != no {
		return nil, ErrNotFound
	}
	p := *m.p
	return &p, nil
}

func (m *memStore) UpdatePayment(_ context.Context, no string, fn func(*Payment, *order.Order) (Capture, error)) (*Payment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p == nil || m.p.OutTradeNo != no {
		return nil, ErrNotFound
	}
	p, o := *m.p, *m.o
	c, err := fn(&p, &o)
	if errors.Is(err, ErrNoop) {
		p := *m.p
		return &p, nil
	}
	if err != nil {
		return nil, err
	}
	m.p = &p
	if c.Order != nil {
		m.o = &o
		m.events = append(m.events, c.Order.Events...)
	}
	m.events = append(m.events, c.Events...)
	out := p
	return &out, nil
}

func (m *memStore) topics() []string {
	var out []string
	for _, e := range m.events {
		out = append(out, e.Topic)
	}
	return out
}

// memOrders is the order store the services read through.
type memOrders struct{ m *memStore }

func (o memOrders) Order(_ context.Context, id string) (*order.Order, error) {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	if o.m.o == nil || o.m.o.ID != id {
		return nil, order.ErrNotFound
	}
	c := *o.m.o
	return &c, nil
}

func (memOrders) CreateOrder(context.Context, *order.Order, []outbox.Event, []jobs.Job) error {
	return errors.New("not used")
}

func (memOrders) Orders(context.Context, order.ListFilter) (order.Page, error) {
	return order.Page{}, errors.New("not used")
}

func (memOrders) UpdateOrder(context.Context, string, func(*order.Order) (order.Change, error)) (*order.Order, error) {
	return nil, errors.New("not used")
}

func newSettleWorld(pay State, status order.Status, g *scriptedGateway) (*Service, *memStore) {
	clk := clock.NewFake(t0)
	id := ids.New()
	m := &memStore{
		p: &Payment{ID: ids.New(), OrderID: id, BuyerID: "b", OutTradeNo: OutTradeNo(id), Amount: 5000, State: pay, PayerOpenID: "o-b"},
		o: &order.Order{ID: id, BuyerID: "b", Status: status, Total: 5000, PayBy: t0.Add(15 * time.Minute)},
	}
	s := &Service{
		Store: m, Orders: &order.Service{Store: memOrders{m}, Clock: clk}, Gateway: g, Clock: clk,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return s, m
}

var (
	unavailable = errs.E(errs.Unavailable, "down", "platform down")
	notPay      = answer{state: TradeNotPay}
	success     = answer{state: TradeSuccess}
)

func TestBeforeClose(t *testing.T) {
	for _, c := range []struct {
		name      string
		pay       State
		queries   []answer
		closeErr  error
		wantErr   bool
		wantState State
		wantCalls []string
		wantTopic []string
	}{
		{name: "settled already", pay: Succeeded, wantState: Succeeded},
		{name: "closed already", pay: Closed, wantState: Closed},
		{name: "the prepay never reached the platform", pay: Pending, queries: []answer{{err: ErrTradeNotFound}},
			wantState: Closed, wantCalls: []string{"query"}},
		{name: "paid: captured, the order ends paid", pay: Pending, queries: []answer{success},
			wantState: Succeeded, wantCalls: []string{"query"}, wantTopic: []string{order.TopicPaid, TopicCaptured}},
		{name: "closed by the platform: nothing to close there", pay: Pending, queries: []answer{{state: TradeClosed}},
			wantState: Closed, wantCalls: []string{"query"}},
		{name: "not paid: closed there, then here", pay: Pending, queries: []answer{notPay},
			wantState: Closed, wantCalls: []string{"query", "close"}},
		{name: "buyer paying: closed there, then here", pay: Pending, queries: []answer{{state: TradeUserPaying}},
			wantState: Closed, wantCalls: []string{"query", "close"}},
		{name: "paid between query and close", pay: Pending, queries: []answer{notPay, success}, closeErr: ErrTradePaid,
			wantState: Succeeded, wantCalls: []string{"query", "close", "query"}, wantTopic: []string{order.TopicPaid, TopicCaptured}},
		{name: "the platform contradicts itself", pay: Pending, queries: []answer{notPay}, closeErr: ErrTradePaid,
			wantErr: true, wantState: Pending, wantCalls: []string{"query", "close", "query"}},
		{name: "query fails", pay: Pending, queries: []answer{{err: unavailable}},
			wantErr: true, wantState: Pending, wantCalls: []string{"query"}},
		{name: "close fails", pay: Pending, queries: []answer{notPay}, closeErr: unavailable,
			wantErr: true, wantState: Pending, wantCalls: []string{"query", "close"}},
		{name: "close finds nothing", pay: Pending, queries: []answer{notPay}, closeErr: ErrTradeNotFound,
			wantState: Closed, wantCalls: []string{"query", "close"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &scriptedGateway{queries: c.queries, closeErr: c.closeErr}
			s, m := newSettleWorld(c.pay, order.PendingPayment, g)
			err := s.BeforeClose(context.Background(), m.o.ID)
			if (err != nil) != c.wantErr {
				t.Errorf("BeforeClose err = %v; want error %v", err, c.wantErr)
			}
			if m.p.State != c.wantState || !reflect.DeepEqual(g.calls, c.wantCalls) || !reflect.DeepEqual(m.topics(), c.wantTopic) {
				t.Errorf("payment %s, platform calls %v, events %v; want %s, %v, %v", m.p.State, g.calls, m.topics(), c.wantState, c.wantCalls, c.wantTopic)
			}
		})
	}
	t.Run("no payment", func(t *testing.T) {
		g := &scriptedGateway{}
		s, _ := newSettleWorld(Pending, order.PendingPayment, g)
		if err := s.BeforeClose(context.Background(), ids.New()); err != nil || len(g.calls) != 0 {
			t.Errorf("BeforeClose = %v, platform calls %v; want nil, none", err, g.calls)
		}
	})
}

func TestReconcile(t *testing.T) {
	for _, c := range []struct {
		name      string
		pay       State
		status    order.Status
		queries   []answer
		wantErr   error
		wantState State
		wantCalls []string
		wantTopic []string
	}{
		{name: "settled", pay: Succeeded, status: order.Paid, wantState: Succeeded},
		{name: "paid: captured", pay: Pending, status: order.PendingPayment, queries: []answer{success},
			wantState: Succeeded, wantCalls: []string{"query"}, wantTopic: []string{order.TopicPaid, TopicCaptured}},
		{name: "not paid: again later", pay: Pending, status: order.PendingPayment, queries: []answer{notPay},
			wantErr: ErrStillPending, wantState: Pending, wantCalls: []string{"query"}},
		{name: "paying: again later", pay: Pending, status: order.PendingPayment, queries: []answer{{state: TradeUserPaying}},
			wantErr: ErrStillPending, wantState: Pending, wantCalls: []string{"query"}},
		{name: "pay error: the buyer may try again", pay: Pending, status: order.PendingPayment, queries: []answer{{state: TradePayError}},
			wantErr: ErrStillPending, wantState: Pending, wantCalls: []string{"query"}},
		{name: "prepay not there yet", pay: Pending, status: order.PendingPayment, queries: []answer{{err: ErrTradeNotFound}},
			wantErr: ErrStillPending, wantState: Pending, wantCalls: []string{"query"}},
		{name: "closed by the platform", pay: Pending, status: order.PendingPayment, queries: []answer{{state: TradeClosed}},
			wantState: Closed, wantCalls: []string{"query"}},
		{name: "order cancelled: closed at the platform", pay: Pending, status: order.Cancelled, queries: []answer{notPay},
			wantState: Closed, wantCalls: []string{"query", "close"}},
		{name: "order cancelled, yet paid: captured after close", pay: Pending, status: order.Cancelled, queries: []answer{success},
			wantState: Succeeded, wantCalls: []string{"query"}, wantTopic: []string{TopicCapturedAfterClose}},
		{name: "platform down: retried", pay: Pending, status: order.PendingPayment, queries: []answer{{err: unavailable}},
			wantErr: unavailable, wantState: Pending, wantCalls: []string{"query"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &scriptedGateway{queries: c.queries}
			s, m := newSettleWorld(c.pay, c.status, g)
			err := s.Reconcile(context.Background(), m.p.OutTradeNo)
			if !errors.Is(err, c.wantErr) {
				t.Errorf("Reconcile err = %v; want %v", err, c.wantErr)
			}
			if m.p.State != c.wantState || !reflect.DeepEqual(g.calls, c.wantCalls) || !reflect.DeepEqual(m.topics(), c.wantTopic) {
				t.Errorf("payment %s, platform calls %v, events %v; want %s, %v, %v", m.p.State, g.calls, m.topics(), c.wantState, c.wantCalls, c.wantTopic)
			}
		})
	}
	t.Run("unknown payment", func(t *testing.T) {
		g := &scriptedGateway{}
		s, _ := newSettleWorld(Pending, order.PendingPayment, g)
		if err := s.Reconcile(context.Background(), "nope"); err != nil || len(g.calls) != 0 {
			t.Errorf("Reconcile = %v, platform calls %v; want nil, none", err, g.calls)
		}
	})
}

// A close that settles the payment while the buyer's prepay is in flight
// leaves a platform transaction nobody else will close: Pay closes it and
// refuses the parameters.
func TestPayClosedDuringPrepay(t *testing.T) {
	g := &scriptedGateway{}
	s, m := newSettleWorld(Pending, order.PendingPayment, g)
	g.onPrepay = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.p.State = Closed
	}
	_, err := s.Pay(context.Background(), "b", m.o.ID)
	if !errs.Is(err, CodeNotPayable) {
		t.Errorf("Pay err = %v; want %s", err, CodeNotPayable)
	}
	if want := []string{"prepay", "close"}; !reflect.DeepEqual(g.calls, want) {
		t.Errorf("platform calls %v; want %v", g.calls, want)
	}
}
