package sandbox_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

func events(ns []pay.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.EventType
	}
	return out
}

func TestPayRefundFaults(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	s.paid("order000050", 1000)
	s.paid("order000051", 1000)
	s.sim.Inject("order000050", sandbox.Faults{FailRefund: true})
	s.sim.Inject("R51-b", sandbox.Faults{FailRefund: true}) // one refund of the other order
	s.sim.Inject("R51-c", sandbox.Faults{CloseRefund: true})
	for _, r := range []payment.RefundRequest{
		{OutTradeNo: "order000050", OutRefundNo: "R50", Refund: 100, Total: 1000},
		{OutTradeNo: "order000051", OutRefundNo: "R51-a", Refund: 100, Total: 1000},
		{OutTradeNo: "order000051", OutRefundNo: "R51-b", Refund: 100, Total: 1000},
		{OutTradeNo: "order000051", OutRefundNo: "R51-c", Refund: 800, Total: 1000},
	} {
		if _, err := s.client.Refund(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	status := map[string]payment.RefundStatus{}
	for _, n := range s.flush() {
		if n.Refund != nil {
			status[n.Refund.OutRefundNo] = n.Refund.Status
			if n.EventType != "REFUND."+string(n.Refund.Status) {
				t.Errorf("event %s carries %s", n.EventType, n.Refund.Status)
			}
		}
	}
	want := map[string]payment.RefundStatus{
		"R50": payment.RefundAbnormal, "R51-a": payment.RefundSuccess, "R51-b": payment.RefundAbnormal, "R51-c": payment.RefundClosed,
	}
	for no, st := range want {
		if status[no] != st {
			t.Errorf("refund %s ended %q by callback, want %q", no, status[no], st)
		}
		if q, err := s.client.QueryRefund(ctx, no); err != nil || q.Status != st {
			t.Errorf("query %s = %+v, %v", no, q, err)
		}
	}
	// A closed refund gave its amount back; an abnormal one did not: 1000
	// paid, 100 refunded and 100 stuck leave 800.
	if _, err := s.client.Refund(ctx, payment.RefundRequest{OutTradeNo: "order000051", OutRefundNo: "R51-d", Refund: 800, Total: 1000}); err != nil {
		t.Fatalf("refunding what the closed refund left: %v", err)
	}
	_, err := s.client.Refund(ctx, payment.RefundRequest{OutTradeNo: "order000051", OutRefundNo: "R51-e", Refund: 1, Total: 1000})
	wantCode(t, err, pay.CodeRejected)
}

func TestPayDuplicateDeliversConcurrently(t *testing.T) {
	s := newShop(t)
	s.sim.Inject("order000060", sandbox.Faults{Duplicate: 5})
	s.paid("order000060", 100)
	got := s.flush()
	if len(got) != 5 {
		t.Fatalf("%d deliveries, want 5", len(got))
	}
	for _, n := range got {
		if n.ID != got[0].ID || n.EventType != pay.EventTransactionSuccess {
			t.Fatalf("duplicates differ: %+v", got)
		}
	}
}

func TestPayRetriesUntilAnswered(t *testing.T) {
	s := newShop(t)
	failures := 3
	s.answer = func(pay.Notification) int {
		if failures > 0 {
			failures--
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}
	start := time.Now()
	s.paid("order000070", 100)
	got := s.flush()
	if len(got) != 4 {
		t.Fatalf("%d deliveries, want 3 failed and 1 answered", len(got))
	}
	var statuses []int
	for _, d := range s.sim.Deliveries() {
		statuses = append(statuses, d.Status)
	}
	if fmt.Sprint(statuses) != "[500 500 500 204]" {
		t.Fatalf("attempts answered %v, want [500 500 500 204]", statuses)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("the compressed schedule took %v", time.Since(start))
	}

	// Never answered: the whole schedule, first attempt and 15 retries.
	s.answer = func(pay.Notification) int { return http.StatusServiceUnavailable }
	s.paid("order000071", 100)
	s.flush()
	attempts := 0
	for _, d := range s.sim.Deliveries() {
		if d.OutTradeNo == "order000071" {
			attempts++
		}
	}
	if attempts != 16 {
		t.Fatalf("%d attempts for a callback never answered, want 16", attempts)
	}
}

func TestPayDropAndDelay(t *testing.T) {
	s := newShop(t)
	s.sim.Inject("order000080", sandbox.Faults{Drop: true})
	s.paid("order000080", 100)
	if got := s.flush(); len(got) != 0 {
		t.Fatalf("a dropped callback arrived: %+v", got)
	}
	// The query still tells the truth: what reconciliation relies on.
	if tx, err := s.client.QueryPayment(context.Background(), "order000080"); err != nil || tx.State != payment.TradeSuccess {
		t.Fatalf("query = %+v, %v", tx, err)
	}

	s.sim.Inject("order000081", sandbox.Faults{Delay: 30 * time.Millisecond})
	start := time.Now()
	s.paid("order000081", 100)
	if got := s.flush(); len(got) != 1 || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("delayed callback: %d after %v", len(got), time.Since(start))
	}
}

func TestPayReorderDeliversRefundFirst(t *testing.T) {
	s := newShop(t)
	s.sim.Inject("order000090", sandbox.Faults{Reorder: true})
	s.paid("order000090", 100)
	if got := s.flush(); len(got) != 0 {
		t.Fatalf("the held payment callback arrived alone: %+v", got)
	}
	if _, err := s.client.Refund(context.Background(), payment.RefundRequest{
		OutTradeNo: "order000090", OutRefundNo: "R90", Refund: 100, Total: 100,
	}); err != nil {
		t.Fatal(err)
	}
	got := s.flush()
	if fmt.Sprint(events(got)) != "[REFUND.SUCCESS TRANSACTION.SUCCESS]" {
		t.Fatalf("callbacks %v, want the refund before the payment", events(got))
	}
}

// authorization signs a v3 request as the SDK does.
func authorization(t *testing.T, key *rsa.PrivateKey, serial, method, uri string, at time.Time, body string) string {
	t.Helper()
	ts := fmt.Sprint(at.Unix())
	msg := method + "\n" + uri + "\n" + ts + "\nnonce123\n" + body + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="nonce123",timestamp="%s",serial_no="%s",signature="%s"`,
		mchID, ts, serial, base64.StdEncoding.EncodeToString(sig))
}

func TestPayRefusesBadMerchantSignatures(t *testing.T) {
	s := newShop(t)
	const uri = "/v3/pay/transactions/out-trade-no/order000100?mchid=" + mchID
	now := time.Now()
	for _, tc := range []struct {
		name string
		auth string
		want int
	}{
		{"good", authorization(t, s.keys.MerchantKey, s.keys.MerchantSerial, "GET", uri, now, ""), http.StatusNotFound},
		{"none", "", http.StatusUnauthorized},
		{"another key", authorization(t, s.keys.PlatformKey, s.keys.MerchantSerial, "GET", uri, now, ""), http.StatusUnauthorized},
		{"another serial", authorization(t, s.keys.MerchantKey, "00FF", "GET", uri, now, ""), http.StatusUnauthorized},
		{"signed for another path", authorization(t, s.keys.MerchantKey, s.keys.MerchantSerial, "GET", uri+"x", now, ""), http.StatusUnauthorized},
		{"stale", authorization(t, s.keys.MerchantKey, s.keys.MerchantSerial, "GET", uri, now.Add(-10*time.Minute), ""), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, uri, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			s.sim.ServeHTTP(rec, r)
			var body struct{ Code string }
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != tc.want || (tc.want == http.StatusUnauthorized && body.Code != "SIGN_ERROR") {
				t.Fatalf("HTTP %d %s, want %d", rec.Code, rec.Body, tc.want)
			}
			if rec.Header().Get("Wechatpay-Signature") == "" || rec.Header().Get("Wechatpay-Serial") != s.keys.PlatformKeyID {
				t.Fatal("the answer is not signed")
			}
		})
	}

	// The production client with the wrong merchant key: the platform
	// refuses, and the client says its credentials are wrong.
	cfg := s.keys.Config(appID, mchID, notifyBase, &http.Client{Transport: sandbox.Transport(s.sim)})
	cfg.PrivateKey = s.keys.PlatformKey
	c, err := pay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.QueryPayment(context.Background(), "order000100")
	wantCode(t, err, pay.CodeMisconfigured)
}

func TestPayerEndpoint(t *testing.T) {
	s := newShop(t)
	id := s.prepay("order000110", 100)
	post := func(body string) int {
		rec := httptest.NewRecorder()
		s.sim.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/sandbox/pay", strings.NewReader(body)))
		return rec.Code
	}
	if code := post(`{"prepay_id":"` + id + `"}`); code != http.StatusNoContent {
		t.Fatalf("paying: HTTP %d", code)
	}
	for body, want := range map[string]int{
		`{"prepay_id":"` + id + `"}`:   http.StatusConflict,
		`{"out_trade_no":"order0zzz"}`: http.StatusNotFound,
		`{}`:                           http.StatusBadRequest,
		`not json`:                     http.StatusBadRequest,
	} {
		if code := post(body); code != want {
			t.Errorf("%s: HTTP %d, want %d", body, code, want)
		}
	}
	if got := s.flush(); len(got) != 1 {
		t.Fatalf("%d callbacks, want 1", len(got))
	}
}

// TestFaultsEndpoint: the faults a test injects in Go, a developer can
// inject over HTTP, and bad requests are refused without changing anything.
func TestFaultsEndpoint(t *testing.T) {
	s := newShop(t)
	post := func(body string) int {
		rec := httptest.NewRecorder()
		s.sim.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/sandbox/faults", strings.NewReader(body)))
		return rec.Code
	}
	for body, want := range map[string]int{
		`{"key":"order000120","duplicate":3}`:                          http.StatusNoContent,
		`{"duplicate":3}`:                                              http.StatusBadRequest, // no key
		`{"key":"order000120","duplicate":-1}`:                         http.StatusBadRequest,
		`{"key":"order000120","duplicate":51}`:                         http.StatusBadRequest,
		`{"key":"order000120","delay_ms":-5}`:                          http.StatusBadRequest,
		`{"key":"order000120","fail_refund":true,"close_refund":true}`: http.StatusBadRequest,
		`{"key":"order000120","explode":true}`:                         http.StatusBadRequest, // unknown field
		`not json`:                                                     http.StatusBadRequest,
	} {
		if got := post(body); got != want {
			t.Errorf("POST /sandbox/faults %s: HTTP %d, want %d", body, got, want)
		}
	}
	s.paid("order000120", 100)
	if got := s.flush(); len(got) != 3 {
		t.Fatalf("%d deliveries after duplicate:3 over HTTP, want 3", len(got))
	}
}
