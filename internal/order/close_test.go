package order_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// oneOrder is an order store holding one pending order.
type oneOrder struct {
	order.Store // only UpdateOrder and Order are called
	o           order.Order
	changes     []order.Change
}

func (s *oneOrder) Order(context.Context, string) (*order.Order, error) {
	o := s.o
	return &o, nil
}

func (s *oneOrder) UpdateOrder(_ context.Context, _ string, fn func(*order.Order) (order.Change, error)) (*order.Order, error) {
	o := s.o
	c, err := fn(&o)
	if errors.Is(err, order.ErrNoop) {
		return &s.o, nil
	}
	if err != nil {
		return nil, err
	}
	s.o = o
	s.changes = append(s.changes, c)
	return &o, nil
}

// The close path settles the payment first; a payment it cannot settle
// keeps the order (and its stock) as it is, whatever the hook's error says,
// and the close job retries rather than count it done.
func TestCloseSettlesPaymentFirst(t *testing.T) {
	t0 := time.Date(2031, 6, 1, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		hookErr error
		want    order.Status
	}{
		{"settled", nil, order.Closed},
		{"platform down", errs.E(errs.Unavailable, "down", "down"), order.PendingPayment},
		// A conflict from the hook (a ledger refusal, say) must not read
		// as "the order moved on" to the close job.
		{"conflict inside the hook", errs.E(errs.Conflict, "ledger_transfer_conflict", "conflict"), order.PendingPayment},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &oneOrder{o: order.Order{ID: "o1", BuyerID: "b", Status: order.PendingPayment, PayBy: t0}}
			var hooked []string
			svc := &order.Service{Store: st, Clock: clock.NewFake(t0), BeforeClose: func(_ context.Context, id string) error {
				hooked = append(hooked, id)
				return c.hookErr
			}}
			_, err := svc.Close(context.Background(), "o1", "unpaid in time")
			if len(hooked) != 1 || hooked[0] != "o1" {
				t.Errorf("BeforeClose called with %v; want once with o1", hooked)
			}
			if st.o.Status != c.want {
				t.Errorf("order = %s; want %s", st.o.Status, c.want)
			}
			if c.hookErr == nil {
				if err != nil || len(st.changes) != 1 || st.changes[0].Stock != order.StockRelease {
					t.Errorf("Close = %v, changes %+v; want the stock released", err, st.changes)
				}
				return
			}
			if e, ok := errs.As(err); !ok || e.Kind != errs.Unavailable || e.Code != "payment_unsettled" || !errors.Is(err, c.hookErr) {
				t.Errorf("Close err = %v; want unavailable payment_unsettled wrapping the hook's error", err)
			}
			if len(st.changes) != 0 {
				t.Errorf("changes written: %+v", st.changes)
			}
		})
	}
	t.Run("cancel does not wait for the platform", func(t *testing.T) {
		st := &oneOrder{o: order.Order{ID: "o1", BuyerID: "b", Status: order.PendingPayment, PayBy: t0}}
		svc := &order.Service{Store: st, Clock: clock.NewFake(t0), BeforeClose: func(context.Context, string) error {
			t.Error("Cancel called BeforeClose")
			return nil
		}}
		if o, err := svc.Cancel(context.Background(), "b", "o1"); err != nil || o.Status != order.Cancelled {
			t.Errorf("Cancel = %+v, %v", o, err)
		}
	})
}
