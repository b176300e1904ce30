package sandbox_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

const (
	mchID      = "1900000109"
	notifyBase = "https://shop.example/callbacks/wechatpay"
	openID     = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// One key set for the package: RSA key generation is the slow part.
var payKeys = sync.OnceValues(pay.GenerateSandboxKeys)

// shop is the merchant side: the production pay client talking to the
// simulator in process, and a callback endpoint that verifies what arrives
// with that client.
type shop struct {
	t      *testing.T
	keys   pay.SandboxKeys
	clock  *clock.Fake
	sim    *sandbox.Pay
	client *pay.Client

	mu       sync.Mutex
	got      []pay.Notification // verified callbacks, in arrival order
	paths    []string
	rejected []error
	answer   func(n pay.Notification) int // status for a verified callback (called under mu); nil: 204
}

func newShop(t *testing.T, tweak ...func(*sandbox.PayConfig)) *shop {
	t.Helper()
	k, err := payKeys()
	if err != nil {
		t.Fatal(err)
	}
	s := &shop{t: t, keys: k, clock: clock.NewFake(time.Now())}
	cfg := sandbox.PayConfig{
		AppID: appID, MchID: mchID,
		MerchantSerial: k.MerchantSerial, MerchantKey: &k.MerchantKey.PublicKey,
		PlatformKeyID: k.PlatformKeyID, PlatformKey: k.PlatformKey, APIv3Key: k.APIv3Key,
		HTTP:  &http.Client{Transport: sandbox.Transport(http.HandlerFunc(s.callback))},
		Clock: s.clock, Compress: 1_000_000, RefundDelay: time.Millisecond,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	s.sim = sandbox.NewPay(cfg)
	t.Cleanup(s.sim.Close)
	pc := k.Config(appID, mchID, notifyBase, &http.Client{Transport: sandbox.Transport(s.sim), Timeout: 5 * time.Second})
	pc.Clock = s.clock
	if s.client, err = pay.New(pc); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *shop) callback(w http.ResponseWriter, r *http.Request) {
	n, err := s.client.ParseNotification(r)
	s.mu.Lock()
	if err != nil {
		s.rejected = append(s.rejected, err)
		s.mu.Unlock()
		pay.Answer(w, err)
		return
	}
	s.got = append(s.got, n)
	s.paths = append(s.paths, r.URL.Path)
	status := http.StatusNoContent
	if s.answer != nil {
		status = s.answer(n)
	}
	s.mu.Unlock()
	w.WriteHeader(status)
}

// flush waits for the simulator's callbacks and refunds under way, and
// fails the test on any callback the shop could not verify.
func (s *shop) flush() []pay.Notification {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.sim.Flush(ctx); err != nil {
		s.t.Fatalf("flush: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rejected) > 0 {
		s.t.Fatalf("the shop rejected callbacks: %v", s.rejected)
	}
	return append([]pay.Notification(nil), s.got...)
}

func (s *shop) prepay(no string, amount money.Fen) string {
	s.t.Helper()
	id, _, err := s.client.Prepay(context.Background(), payment.PrepayRequest{
		OutTradeNo: no, Description: "Oolong tea 250g", Amount: amount, PayerOpenID: openID,
		ExpiresAt: s.clock.Now().Add(15 * time.Minute),
	})
	if err != nil {
		s.t.Fatalf("prepay %s: %v", no, err)
	}
	return id
}

func (s *shop) paid(no string, amount money.Fen) {
	s.t.Helper()
	if err := s.sim.PayOrder(s.prepay(no, amount)); err != nil {
		s.t.Fatal(err)
	}
}

// sameTx compares transactions, their times as instants.
func sameTx(a, b payment.Transaction) bool {
	if !a.SuccessTime.Equal(b.SuccessTime) {
		return false
	}
	a.SuccessTime, b.SuccessTime = time.Time{}, time.Time{}
	return a == b
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func TestPayPrepayPayCallbackQuery(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	id, params, err := s.client.Prepay(ctx, payment.PrepayRequest{
		OutTradeNo: "order000001", Description: "Oolong tea 250g", Amount: 1999, PayerOpenID: openID,
		ExpiresAt: s.clock.Now().Add(15 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "wx") || params.Package != "prepay_id="+id || params.AppID != appID || params.SignType != "RSA" {
		t.Fatalf("prepay %q, params %+v", id, params)
	}
	// The mini program passes paySign to wx.requestPayment; the platform
	// checks it with the merchant's key over these four lines.
	msg := params.AppID + "\n" + params.TimeStamp + "\n" + params.NonceStr + "\n" + params.Package + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, _ := base64.StdEncoding.DecodeString(params.PaySign)
	if err := rsa.VerifyPKCS1v15(&s.keys.MerchantKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify: %v", err)
	}
	if again, _, err := s.client.Prepay(ctx, payment.PrepayRequest{
		OutTradeNo: "order000001", Description: "Oolong tea 250g", Amount: 1999, PayerOpenID: openID,
	}); err != nil || again != id {
		t.Fatalf("the same prepay again = %q, %v; want %q", again, err, id)
	}
	_, _, err = s.client.Prepay(ctx, payment.PrepayRequest{OutTradeNo: "order000001", Description: "x", Amount: 1, PayerOpenID: openID})
	wantCode(t, err, pay.CodeOutTradeNoUsed)

	tx, err := s.client.QueryPayment(ctx, "order000001")
	if err != nil || tx.State != payment.TradeNotPay || tx.Total != 1999 || tx.TransactionID != "" {
		t.Fatalf("query before paying = %+v, %v", tx, err)
	}
	if got := s.flush(); len(got) != 0 {
		t.Fatalf("callbacks before paying: %+v", got)
	}

	if err := s.sim.PayOrder(id); err != nil {
		t.Fatal(err)
	}
	got := s.flush()
	if len(got) != 1 || got[0].EventType != pay.EventTransactionSuccess || s.paths[0] != "/callbacks/wechatpay/pay" {
		t.Fatalf("callbacks %+v at %v, want one TRANSACTION.SUCCESS at .../pay", got, s.paths)
	}
	cb := got[0].Transaction
	if cb.OutTradeNo != "order000001" || cb.Total != 1999 || cb.PayerTotal != 1999 || cb.PayerOpenID != openID ||
		cb.AppID != appID || cb.MchID != mchID || cb.TransactionID == "" || cb.SuccessTime.IsZero() {
		t.Fatalf("callback transaction %+v", cb)
	}
	tx, err = s.client.QueryPayment(ctx, "order000001")
	if err != nil || !sameTx(tx, *cb) {
		t.Fatalf("query after paying = %+v, %v; want what the callback said, %+v", tx, err, *cb)
	}
	if err := s.sim.PayOrder("order000001"); !errors.Is(err, sandbox.ErrOrderPaid) {
		t.Fatalf("paying twice: %v", err)
	}
	_, _, err = s.client.Prepay(ctx, payment.PrepayRequest{OutTradeNo: "order000001", Description: "Oolong tea 250g", Amount: 1999, PayerOpenID: openID})
	wantCode(t, err, pay.CodeAlreadyPaid)
	_, err = s.client.QueryPayment(ctx, "order999999")
	wantCode(t, err, pay.CodePaymentNotFound)
}

func TestPayClose(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	s.prepay("order000010", 500)
	if err := s.client.ClosePayment(ctx, "order000010"); err != nil {
		t.Fatal(err)
	}
	if err := s.client.ClosePayment(ctx, "order000010"); err != nil {
		t.Fatalf("closing a closed payment: %v", err)
	}
	if tx, err := s.client.QueryPayment(ctx, "order000010"); err != nil || tx.State != payment.TradeClosed {
		t.Fatalf("query after close = %+v, %v", tx, err)
	}
	if err := s.sim.PayOrder("order000010"); !errors.Is(err, sandbox.ErrOrderClosed) {
		t.Fatalf("paying a closed order: %v", err)
	}

	s.paid("order000011", 500)
	wantCode(t, s.client.ClosePayment(ctx, "order000011"), pay.CodeAlreadyPaid)
	wantCode(t, s.client.ClosePayment(ctx, "order999999"), pay.CodePaymentNotFound)
}

func TestPayAfterTimeExpireRefused(t *testing.T) {
	s := newShop(t)
	id := s.prepay("order000020", 500) // pay-by in 15 minutes
	s.clock.Advance(16 * time.Minute)
	if err := s.sim.PayOrder(id); !errors.Is(err, sandbox.ErrOrderExpired) {
		t.Fatalf("paying after time_expire: %v", err)
	}
	if got := s.flush(); len(got) != 0 {
		t.Fatalf("callbacks for an unpaid order: %+v", got)
	}
	_, _, err := s.client.Prepay(context.Background(), payment.PrepayRequest{
		OutTradeNo: "order000021", Description: "tea", Amount: 500, PayerOpenID: openID,
		ExpiresAt: s.clock.Now().Add(-time.Minute),
	})
	wantCode(t, err, pay.CodeRejected)
}

func TestPayRefunds(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	s.paid("order000030", 1000)
	s.flush()

	req := payment.RefundRequest{OutTradeNo: "order000030", OutRefundNo: "R000030-1", Reason: "damaged", Refund: 300, Total: 1000}
	r1, err := s.client.Refund(ctx, req)
	if err != nil || r1.Status != payment.RefundProcessing || r1.RefundID == "" || r1.Refund != 300 || r1.Total != 1000 {
		t.Fatalf("refund = %+v, %v", r1, err)
	}
	again, err := s.client.Refund(ctx, req)
	if err != nil || again.RefundID != r1.RefundID {
		t.Fatalf("the same out_refund_no again = %+v, %v; want refund %s", again, err, r1.RefundID)
	}
	other := req
	other.Refund = 400
	_, err = s.client.Refund(ctx, other)
	wantCode(t, err, pay.CodeRejected)

	got := s.flush()
	if len(got) != 2 || got[1].EventType != pay.EventRefundSuccess || s.paths[1] != "/callbacks/wechatpay/refund" {
		t.Fatalf("callbacks %+v at %v, want the payment then one REFUND.SUCCESS at .../refund", got, s.paths)
	}
	if r := got[1].Refund; r.RefundID != r1.RefundID || r.Refund != 300 || r.Status != payment.RefundSuccess || r.SuccessTime.IsZero() {
		t.Fatalf("refund callback %+v", r)
	}
	if q, err := s.client.QueryRefund(ctx, "R000030-1"); err != nil || q.Status != payment.RefundSuccess || q.RefundID != r1.RefundID {
		t.Fatalf("query refund = %+v, %v", q, err)
	}
	if tx, err := s.client.QueryPayment(ctx, "order000030"); err != nil || tx.State != payment.TradeRefund {
		t.Fatalf("query payment after a refund = %+v, %v", tx, err)
	}

	over := payment.RefundRequest{OutTradeNo: "order000030", OutRefundNo: "R000030-2", Refund: 701, Total: 1000}
	_, err = s.client.Refund(ctx, over)
	wantCode(t, err, pay.CodeRejected)
	over.Refund = 700
	if _, err := s.client.Refund(ctx, over); err != nil {
		t.Fatalf("refunding the rest: %v", err)
	}
	_, err = s.client.QueryRefund(ctx, "R-unknown")
	wantCode(t, err, pay.CodeRefundNotFound)
	_, err = s.client.Refund(ctx, payment.RefundRequest{OutTradeNo: "order999999", OutRefundNo: "R9", Refund: 1, Total: 1})
	wantCode(t, err, pay.CodePaymentNotFound)
	s.prepay("order000031", 1000)
	_, err = s.client.Refund(ctx, payment.RefundRequest{OutTradeNo: "order000031", OutRefundNo: "R31", Refund: 1, Total: 1000})
	wantCode(t, err, pay.CodeRejected)
}

func TestPayRefundLimits(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	s.paid("order000040", 100)
	refund := func(no string) (payment.RefundResult, error) {
		return s.client.Refund(ctx, payment.RefundRequest{OutTradeNo: "order000040", OutRefundNo: no, Refund: 1, Total: 100})
	}
	var fiftieth payment.RefundResult
	for i := 1; i <= 50; i++ {
		r, err := refund("R40-" + string(rune('A'+i/26)) + string(rune('a'+i%26)))
		if err != nil {
			t.Fatalf("refund %d: %v", i, err)
		}
		fiftieth = r
	}
	_, err := refund("R40-51st")
	wantCode(t, err, pay.CodeRejected)
	if r, err := refund(fiftieth.OutRefundNo); err != nil || r.RefundID != fiftieth.RefundID {
		t.Fatalf("retrying the 50th refund = %+v, %v: a retry is not a new refund", r, err)
	}

	s.paid("order000041", 100)
	s.clock.Advance(366 * 24 * time.Hour)
	_, err = s.client.Refund(ctx, payment.RefundRequest{OutTradeNo: "order000041", OutRefundNo: "R41", Refund: 1, Total: 100})
	wantCode(t, err, pay.CodeRejected)
}
