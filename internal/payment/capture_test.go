package payment

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

var t0 = time.Date(2031, 6, 1, 9, 30, 0, 0, time.UTC)

func TestOutTradeNo(t *testing.T) {
	// WeChat Pay: 6 to 32 characters of [0-9A-Za-z_|*-], unique per merchant.
	valid := regexp.MustCompile(`^[0-9A-Za-z_|*-]{6,32}$`)
	seen := map[string]bool{}
	for range 100 {
		no := OutTradeNo(ids.New())
		if len(no) != 32 || !valid.MatchString(no) {
			t.Fatalf("OutTradeNo = %q; want 32 characters WeChat Pay accepts", no)
		}
		if seen[no] {
			t.Fatalf("OutTradeNo %q twice", no)
		}
		seen[no] = true
	}
}

func TestCapture(t *testing.T) {
	const total money.Fen = 12800
	paidAt := t0.Add(3 * time.Minute)
	now := t0.Add(4 * time.Minute)
	success := Transaction{OutTradeNo: "x", TransactionID: "4200001", State: TradeSuccess, Total: total, PayerTotal: total, SuccessTime: paidAt}
	cases := []struct {
		name      string
		pay       State
		status    order.Status
		orderSum  money.Fen
		tx        func(*Transaction)
		wantErr   error
		wantTopic string
		wantPaid  bool // the order moves to paid in the same transaction
	}{
		{name: "pending order", pay: Pending, status: order.PendingPayment, wantTopic: TopicCaptured, wantPaid: true},
		{name: "duplicate", pay: Succeeded, status: order.Paid, wantErr: ErrNoop},
		{name: "closed order: the money is real", pay: Pending, status: order.Closed, wantTopic: TopicCapturedAfterClose},
		{name: "cancelled order", pay: Pending, status: order.Cancelled, wantTopic: TopicCapturedAfterClose},
		{name: "payment we closed, paid before the close landed", pay: Closed, status: order.PendingPayment, wantTopic: TopicCaptured, wantPaid: true},
		{name: "payment we closed, order closed", pay: Closed, status: order.Closed, wantTopic: TopicCapturedAfterClose},
		{name: "order paid by another path", pay: Pending, status: order.Paid, wantTopic: TopicCaptured},
		{name: "refunded at the platform since", pay: Pending, status: order.PendingPayment, tx: func(tx *Transaction) { tx.State = TradeRefund }, wantTopic: TopicCaptured, wantPaid: true},
		{name: "no success time", pay: Pending, status: order.PendingPayment, tx: func(tx *Transaction) { tx.SuccessTime = time.Time{} }, wantTopic: TopicCaptured, wantPaid: true},
		{name: "total over", pay: Pending, status: order.PendingPayment, tx: func(tx *Transaction) { tx.Total++ }, wantErr: ErrAmountMismatch},
		{name: "total under", pay: Pending, status: order.PendingPayment, tx: func(tx *Transaction) { tx.Total, tx.PayerTotal = 1, 1 }, wantErr: ErrAmountMismatch},
		{name: "payer over total", pay: Pending, status: order.PendingPayment, tx: func(tx *Transaction) { tx.PayerTotal++ }, wantErr: ErrAmountMismatch},
		{name: "payer negative", pay: Pending, status: order.PendingPayment, tx: func(tx *Transaction) { tx.PayerTotal = -1 }, wantErr: ErrAmountMismatch},
		{name: "order total differs from the payment", pay: Pending, status: order.PendingPayment, orderSum: total + 1, wantErr: ErrAmountMismatch},
		{name: "mismatch on a captured payment is still refused", pay: Succeeded, status: order.Paid, tx: func(tx *Transaction) { tx.Total++ }, wantErr: ErrAmountMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestService()
			p := &Payment{ID: ids.New(), OrderID: ids.New(), BuyerID: ids.New(), OutTradeNo: "x", Amount: total, State: c.pay, CreatedAt: t0, UpdatedAt: t0}
			o := &order.Order{ID: p.OrderID, BuyerID: p.BuyerID, Status: c.status, Total: total, PayBy: t0.Add(15 * time.Minute)}
			if c.orderSum != 0 {
				o.Total = c.orderSum
			}
			tx := success
			if c.tx != nil {
				c.tx(&tx)
			}
			beforeP, beforeO := *p, *o
			got, err := s.capture(p, o, tx, now)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v; want %v", err, c.wantErr)
				}
				if !reflect.DeepEqual(*p, beforeP) || !reflect.DeepEqual(*o, beforeO) {
					t.Errorf("a refused capture changed the payment to %+v or the order to %+v", p, o)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantAt := tx.SuccessTime
			if wantAt.IsZero() {
				wantAt = now
			}
			if p.State != Succeeded || p.TransactionID != tx.TransactionID || p.PaidAt == nil || !p.PaidAt.Equal(wantAt) ||
				p.Fee != 77 || !p.UpdatedAt.Equal(now) {
				t.Errorf("payment = %+v; want succeeded at %v, fee 0.77 (0.6%% of 128.00, rounded)", p, wantAt)
			}
			if len(got.Events) != 1 || got.Events[0].Topic != c.wantTopic || got.Events[0].Key != o.ID {
				t.Errorf("events = %+v; want one %s keyed by the order", got.Events, c.wantTopic)
			}
			if c.wantPaid {
				if got.Order == nil || got.Order.Stock != order.StockCommit || o.Status != order.Paid || !o.PaidAt.Equal(wantAt) ||
					len(got.Order.Events) != 1 || got.Order.Events[0].Topic != order.TopicPaid {
					t.Errorf("order change = %+v, order %+v; want paid at %v with the stock committed", got.Order, o, wantAt)
				}
			} else if got.Order != nil || !reflect.DeepEqual(*o, beforeO) {
				t.Errorf("order change = %+v, order %+v; want the order untouched (was %s)", got.Order, o, beforeO.Status)
			}
			wantTransfers := []ledger.Transfer{
				{ID: "payment:" + p.ID, Kind: "payment", Ref: o.ID, State: ledger.Posted, CreatedAt: now,
					Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, total), ledger.Cr(ledger.MerchantRevenue, total)}},
				{ID: "payment_fee:" + p.ID, Kind: "payment_fee", Ref: o.ID, State: ledger.Posted, CreatedAt: now,
					Entries: []ledger.Entry{ledger.Dr(ledger.PlatformFees, 77), ledger.Cr(ledger.ClearingWeChat, 77)}},
			}
			if !reflect.DeepEqual(got.Transfers, wantTransfers) {
				t.Errorf("transfers = %+v; want %+v", got.Transfers, wantTransfers)
			}
			for _, tr := range got.Transfers {
				if err := ledger.Validate(tr); err != nil {
					t.Errorf("transfer %s: %v", tr.ID, err)
				}
			}
		})
	}
}

func TestCaptureFee(t *testing.T) {
	for _, c := range []struct {
		amount, fee money.Fen
		bp          money.BP
	}{
		{1, 0, 0},       // default 60 bp: 0.006 fen rounds to nothing
		{83, 0, 0},      // 0.498 fen
		{84, 1, 0},      // 0.504 fen rounds half up
		{10000, 60, 0},  // 100.00 yuan pays 0.60
		{10000, 38, 38}, // a merchant on the 0.38% rate
	} {
		s := newTestService()
		s.Config.FeeBP = c.bp
		p := &Payment{ID: ids.New(), OrderID: ids.New(), Amount: c.amount, State: Pending}
		o := &order.Order{ID: p.OrderID, Status: order.PendingPayment, Total: c.amount}
		got, err := s.capture(p, o, Transaction{TransactionID: "4200", State: TradeSuccess, Total: c.amount, PayerTotal: c.amount, SuccessTime: t0}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Fee != c.fee {
			t.Errorf("fee on %s at %d bp = %s; want %s", c.amount, c.bp, p.Fee, c.fee)
		}
		// No fee, no fee transfer: a transfer of zero is not a transfer.
		if want := 1 + min(int(c.fee), 1); len(got.Transfers) != want {
			t.Errorf("amount %s: %d transfers; want %d", c.amount, len(got.Transfers), want)
		}
	}
}

func TestDescribe(t *testing.T) {
	s := newTestService()
	long := strings.Repeat("武夷山大红袍", 20) // 3 bytes a character: cut mid-title
	for _, c := range []struct {
		lines []order.Line
		want  string
	}{
		{[]order.Line{{Title: "Oolong"}}, "Oolong"},
		{[]order.Line{{Title: "Oolong"}, {Title: "Cup"}, {Title: "Pot"}}, "Oolong 等 3 件商品"},
	} {
		if got := s.describe(&order.Order{Lines: c.lines}); got != c.want {
			t.Errorf("describe = %q; want %q", got, c.want)
		}
	}
	got := s.describe(&order.Order{Lines: []order.Line{{Title: long}, {Title: "x"}}})
	if len(got) > 127 || !utf8.ValidString(got) || !strings.HasPrefix(long, got) {
		t.Errorf("describe of a long title = %q (%d bytes); want at most 127 bytes, whole characters", got, len(got))
	}
	s.Config.Description = func(o *order.Order) string { return "Shop order " + o.ID }
	if got := s.describe(&order.Order{ID: "1"}); got != "Shop order 1" {
		t.Errorf("describe with the operator's = %q", got)
	}
}

func newTestService() *Service {
	clk := clock.NewFake(t0)
	return &Service{Orders: &order.Service{Clock: clk}, Clock: clk}
}
