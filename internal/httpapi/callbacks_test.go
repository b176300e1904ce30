package httpapi_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// TestPaymentCallbacks sends the app callbacks as the platform would, and
// as a forger or a confused network would: only a genuine one for the
// order's amount pays it, and the genuine one sent 50 times at once pays it
// once and is answered as a success every time.
func TestPaymentCallbacks(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		o := w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 1)
		w.alice.must(201, "POST", "/api/v1/orders/"+o.ID+"/payments", nil, nil)
		no := payment.OutTradeNo(o.ID)
		// The buyer pays; the platform's own callbacks are lost, and the
		// test delivers them instead, as it pleases.
		w.app.PaySandbox.Inject(no, sandbox.Faults{Drop: true})
		if err := w.app.PaySandbox.PayOrder(no); err != nil {
			t.Fatal(err)
		}
		p, tx := w.platformOf(no)
		now := w.app.Clock.Now()
		const payPath, refundPath = "/callbacks/wechatpay/pay", "/callbacks/wechatpay/refund"

		genuine := p.notification(t, pay.EventTransactionSuccess, p.transaction(tx, o.Total))
		signed := p.sign(t, genuine, now)
		tampered := []byte(genuine)
		tampered[len(tampered)/2] ^= 1
		with := func(hdr []string, name, value string) []string {
			out := append([]string(nil), hdr...)
			for i := 0; i+1 < len(out); i += 2 {
				if out[i] == name {
					out[i+1] = value
				}
			}
			return out
		}
		sealedFor := func(event string, resource any) (string, []string) {
			b := p.notification(t, event, resource)
			return b, p.sign(t, b, now)
		}
		overpaid, overpaidHdr := sealedFor(pay.EventTransactionSuccess, p.transaction(tx, o.Total+1))
		others := p
		others.mchID = "1900009999"
		foreign := others.notification(t, pay.EventTransactionSuccess, others.transaction(tx, o.Total))
		unknownRefund, unknownRefundHdr := sealedFor(pay.EventRefundSuccess,
			p.refund(no, strings.ReplaceAll(ids.New(), "-", ""), "SUCCESS", 1, o.Total))
		huge := `{"id":"` + strings.Repeat("x", 65<<10) + `"}`
		enormous := `{"id":"` + strings.Repeat("x", 2<<20) + `"}`

		cases := []struct {
			name, path, body string
			hdr              []string
			status           int
		}{
			{"a body changed by one byte", payPath, string(tampered), signed, 401},
			{"signed six minutes ago", payPath, genuine, p.sign(t, genuine, now.Add(-6*time.Minute)), 401},
			{"a signature probe", payPath, genuine, with(signed, "Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+strings.Repeat("A", 40)), 401},
			{"an unknown platform key", payPath, genuine, with(signed, "Wechatpay-Serial", "PUB_KEY_ID_0000000000000000000000000000"), 401},
			{"no signature", payPath, genuine, nil, 401},
			{"not JSON", payPath, "paid=1", p.sign(t, "paid=1", now), 400},
			{"an amount other than the order's", payPath, overpaid, overpaidHdr, 400},
			{"another merchant's", payPath, foreign, others.sign(t, foreign, now), 403},
			{"a refund we never started", refundPath, unknownRefund, unknownRefundHdr, 400},
			{"over 64 KiB", payPath, huge, p.sign(t, huge, now), 413},
			{"over the API's own 1 MiB cap", payPath, enormous, p.sign(t, enormous, now), 413},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cl := &client{t: t, h: w.anon.h}
				r := cl.do("POST", c.path, raw(c.body), c.hdr...)
				if r.Status != c.status {
					t.Fatalf("got %d, want %d: %s", r.Status, c.status, r.Body)
				}
				var fail struct{ Code, Message string }
				if err := json.Unmarshal(r.Body, &fail); err != nil || fail.Code != "FAIL" || fail.Message == "" {
					t.Fatalf("not the platform's failure answer: %s", r.Body)
				}
			})
		}
		var st paymentState
		w.alice.must(200, "GET", "/api/v1/orders/"+o.ID+"/payment", nil, &st)
		var still order.Order
		w.alice.must(200, "GET", "/api/v1/orders/"+o.ID, nil, &still)
		if st.State != "pending" || still.Status != order.PendingPayment {
			t.Fatalf("refused callbacks changed the payment %+v, order %s", st, still.Status)
		}
		w.soundLedger()

		// The genuine callback, 50 times at once.
		replies := make([]reply, 50)
		var wg sync.WaitGroup
		for i := range replies {
			wg.Go(func() { replies[i] = w.anon.do("POST", payPath, raw(genuine), signed...) })
		}
		wg.Wait()
		for i, r := range replies {
			if r.Status != 204 {
				t.Fatalf("delivery %d: %d %s", i, r.Status, r.Body)
			}
		}
		w.anon.must(204, "POST", payPath, raw(genuine), nil, signed...)
		w.alice.must(200, "GET", "/api/v1/orders/"+o.ID+"/payment", nil, &st)
		w.alice.must(200, "GET", "/api/v1/orders/"+o.ID, nil, &still)
		if st.State != "succeeded" || still.Status != order.Paid {
			t.Fatalf("payment %+v, order %s", st, still.Status)
		}
		// Paid once: one unit sold, one payment's revenue on the ledger
		// (and the check finds exactly one payment transfer for the order).
		if l := w.stockOf(w.skuA); l.OnHand != 99 || l.Reserved != 0 {
			t.Fatalf("stock after 51 callbacks: %+v", l)
		}
		tb := w.soundLedger()
		if got := tb.balance(ledger.MerchantRevenue); got != o.Total {
			t.Fatalf("revenue %d for one payment of %d", got, o.Total)
		}

		// A refund callback: the platform's word moves the refund, once.
		var rf refund.Refund
		w.finance.must(201, "POST", "/admin/api/v1/orders/"+o.ID+"/refunds", map[string]any{"all": true, "reason": "缺货"}, &rf)
		w.settle() // the send job: the platform accepts the refund; its callback is lost
		done, doneHdr := sealedFor(pay.EventRefundSuccess, p.refund(no, rf.OutRefundNo, "SUCCESS", rf.Amount, o.Total))
		for range 3 {
			w.anon.must(204, "POST", refundPath, raw(done), nil, doneHdr...)
		}
		w.finance.must(200, "GET", "/admin/api/v1/refunds/"+rf.ID, nil, &rf)
		if rf.State != refund.Succeeded {
			t.Fatalf("after its callback: %+v", rf)
		}
		// Closed after success is a contradiction: refused, and retried by
		// the platform until someone looks.
		closed, closedHdr := sealedFor(pay.EventRefundClosed, p.refund(no, rf.OutRefundNo, "CLOSED", rf.Amount, o.Total))
		w.anon.must(400, "POST", refundPath, raw(closed), nil, closedHdr...)
		w.soundLedger()
	})
}
