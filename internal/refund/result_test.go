package refund

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

var t0 = time.Date(2031, 6, 1, 9, 30, 0, 0, time.UTC)

// TestApplyResult is the whole state machine of a refund's results: every
// refund state against every platform status, what it becomes and what the
// store must write.
func TestApplyResult(t *testing.T) {
	s := &Service{Clock: clock.NewFake(t0)}
	type want struct {
		state   State
		noop    bool
		code    string // an error
		post    bool   // the refund transfer posts, the payout and fee are written
		void    bool   // the refund transfer is voided and the amounts released
		topic   string
		jobs    int
		afterTo AfterSaleState
	}
	cases := []struct {
		from   State
		status payment.RefundStatus
		want   want
	}{
		{Pending, payment.RefundProcessing, want{state: Processing, jobs: 1, afterTo: Refunding}},
		{Processing, payment.RefundProcessing, want{noop: true}},
		{Succeeded, payment.RefundProcessing, want{noop: true}},
		{Closed, payment.RefundProcessing, want{noop: true}},
		{Abnormal, payment.RefundProcessing, want{noop: true}},

		{Pending, payment.RefundSuccess, want{state: Succeeded, post: true, topic: TopicSucceeded, afterTo: Refunded}},
		{Processing, payment.RefundSuccess, want{state: Succeeded, post: true, topic: TopicSucceeded, afterTo: Refunded}},
		{Abnormal, payment.RefundSuccess, want{state: Succeeded, post: true, topic: TopicSucceeded, afterTo: Refunded}},
		{Succeeded, payment.RefundSuccess, want{noop: true}},
		{Closed, payment.RefundSuccess, want{code: CodeInvalidState}},

		{Pending, payment.RefundClosed, want{state: Closed, void: true, topic: TopicClosed, afterTo: Failed}},
		{Processing, payment.RefundClosed, want{state: Closed, void: true, topic: TopicClosed, afterTo: Failed}},
		{Abnormal, payment.RefundClosed, want{state: Closed, void: true, topic: TopicClosed, afterTo: Failed}},
		{Closed, payment.RefundClosed, want{noop: true}},
		{Succeeded, payment.RefundClosed, want{code: CodeInvalidState}},

		{Pending, payment.RefundAbnormal, want{state: Abnormal, topic: TopicAbnormal, afterTo: Refunding}},
		{Processing, payment.RefundAbnormal, want{state: Abnormal, topic: TopicAbnormal, afterTo: Refunding}},
		{Abnormal, payment.RefundAbnormal, want{noop: true}},
		{Succeeded, payment.RefundAbnormal, want{noop: true}},
		{Closed, payment.RefundAbnormal, want{noop: true}},

		{Processing, "WHATEVER", want{code: "invalid_refund_status"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s+%s", c.from, c.status), func(t *testing.T) {
			r := &Refund{ID: "r-1", OrderID: "o-1", OutTradeNo: "t", OutRefundNo: "n", Amount: 500, Fee: 3, State: c.from}
			a := &AfterSale{ID: "a-1", State: Refunding}
			ch, err := s.applyResult(r, a, payment.RefundResult{OutTradeNo: "t", OutRefundNo: "n", Status: c.status, Refund: 500, RefundID: "wx-1"})
			switch {
			case c.want.noop:
				if !errors.Is(err, ErrNoop) {
					t.Fatalf("err = %v; want ErrNoop", err)
				}
				return
			case c.want.code != "":
				if e, ok := errs.As(err); !ok || e.Code != c.want.code {
					t.Fatalf("err = %v; want %s", err, c.want.code)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if r.State != c.want.state || a.State != c.want.afterTo || r.PlatformRefundID != "wx-1" || r.SentAt == nil {
				t.Errorf("refund %s (platform id %q, sent %v), after-sale %s; want %s, %s", r.State, r.PlatformRefundID, r.SentAt, a.State, c.want.state, c.want.afterTo)
			}
			if got := len(ch.Post) == 1 && ch.Post[0] == ledger.RefundID("r-1") && len(ch.Transfers) == 2; got != c.want.post {
				t.Errorf("post %v (%+v); want %v", got, ch, c.want.post)
			}
			if got := len(ch.Void) == 1 && ch.Release; got != c.want.void {
				t.Errorf("void and release %v; want %v", got, c.want.void)
			}
			if (len(ch.Events) == 1 && ch.Events[0].Topic == c.want.topic) != (c.want.topic != "") || len(ch.Jobs) != c.want.jobs {
				t.Errorf("events %+v, %d jobs; want %q, %d", ch.Events, len(ch.Jobs), c.want.topic, c.want.jobs)
			}
		})
	}
	t.Run("a result for another payment or amount", func(t *testing.T) {
		for _, res := range []payment.RefundResult{
			{OutTradeNo: "other", OutRefundNo: "n", Status: payment.RefundSuccess, Refund: 500},
			{OutTradeNo: "t", OutRefundNo: "n", Status: payment.RefundSuccess, Refund: 499},
		} {
			r := &Refund{ID: "r-1", OutTradeNo: "t", OutRefundNo: "n", Amount: 500, State: Processing}
			if _, err := s.applyResult(r, nil, res); !errs.Is(err, CodeResultMismatch) || r.State != Processing {
				t.Errorf("%+v: err %v, state %s; want %s and nothing changed", res, err, r.State, CodeResultMismatch)
			}
		}
	})
}

// The queries of a refund the platform accepted back off from
// ReconcileAfter, doubling, up to ReconcileMax.
func TestReconcileSchedule(t *testing.T) {
	s := &Service{Config: Config{ReconcileAfter: 5 * time.Minute, ReconcileMax: time.Hour}}
	r := &Refund{ID: "r-1"}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		j := s.reconcileJob(r, n, t0)
		got = append(got, j.RunAt.Sub(t0))
		if j.Key != fmt.Sprintf("r-1:%d", n) || j.Kind != JobReconcile {
			t.Errorf("query %d: kind %s key %s", n, j.Kind, j.Key)
		}
	}
	if fmt.Sprint(got) != "[5m0s 10m0s 20m0s 40m0s 1h0m0s 1h0m0s]" {
		t.Errorf("waits %v", got)
	}
}

func TestOutRefundNo(t *testing.T) {
	if got := OutRefundNo("01900000-0000-7000-8000-000000000001"); got != "01900000000070008000000000000001" || len(got) != 32 {
		t.Errorf("OutRefundNo = %q", got)
	}
}
