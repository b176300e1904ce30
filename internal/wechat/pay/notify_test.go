package pay

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

const (
	testAppID  = "wx0123456789abcdef"
	testMchID  = "1900000109"
	testNotify = "https://shop.example/callbacks/wechatpay"
)

// Two RSA-2048 pairs take a noticeable moment on a shared machine: one set
// serves every test in the package.
var testKeys = sync.OnceValues(GenerateSandboxKeys)

func sandboxKeys(t *testing.T) SandboxKeys {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signedRequest is a callback as the platform posts it: the body signed
// with key over "timestamp\nnonce\nbody\n".
func signedRequest(t *testing.T, key *rsa.PrivateKey, serial string, at time.Time, body string) *http.Request {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := hex.EncodeToString(randomBytes(t, 16))
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + body + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, testNotify+"/pay", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Wechatpay-Timestamp", ts)
	r.Header.Set("Wechatpay-Nonce", nonce)
	r.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	r.Header.Set("Wechatpay-Serial", serial)
	return r
}

// changed is r with one bit of body flipped and r's signature headers.
func changed(r *http.Request, body string) *http.Request {
	b := []byte(body)
	b[len(b)/2] ^= 1
	out := httptest.NewRequest(http.MethodPost, r.URL.String(), strings.NewReader(string(b)))
	out.Header = r.Header
	return out
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// callback builds a callback body: resource sealed with AES-256-GCM under
// key with associated data sealAD, while the body states statedAD.
type callback struct {
	event, originalType string
	resource            any
	key                 string
	sealAD, statedAD    string
}

func (cb callback) body(t *testing.T) string {
	t.Helper()
	plain, err := json.Marshal(cb.resource)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher([]byte(cb.key))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := hex.EncodeToString(randomBytes(t, 6)) // 12 characters, as the platform's
	sealed := gcm.Seal(nil, []byte(nonce), plain, []byte(cb.sealAD))
	b, err := json.Marshal(map[string]any{
		"id": "EV-2018022511223320873", "create_time": "2024-06-24T16:37:26+08:00",
		"resource_type": "encrypt-resource", "event_type": cb.event, "summary": "支付成功",
		"resource": map[string]string{
			"original_type": cb.originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(sealed), "associated_data": cb.statedAD, "nonce": nonce,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func transactionResource(mchID, appID, state string) map[string]any {
	return map[string]any{
		"appid": appID, "mchid": mchID, "out_trade_no": "0190a1b2c3d47e8f9a0b1c2d3e4f5a6b",
		"transaction_id": "4200000000202406241234567890", "trade_type": "JSAPI", "trade_state": state,
		"trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "", "success_time": "2024-06-24T16:37:20+08:00",
		"payer":  map[string]string{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
		"amount": map[string]any{"total": 12345, "payer_total": 12345, "currency": "CNY", "payer_currency": "CNY"},
	}
}

func refundResourceJSON(status string) map[string]any {
	r := map[string]any{
		"mchid": testMchID, "out_trade_no": "0190a1b2c3d47e8f9a0b1c2d3e4f5a6b", "transaction_id": "4200000000202406241234567890",
		"out_refund_no": "R0190a1b2c3d47e8f", "refund_id": "50300000000202406241234567890", "refund_status": status,
		"user_received_account": "支付用户零钱",
		"amount":                map[string]any{"total": 12345, "refund": 2345, "payer_total": 12345, "payer_refund": 2345},
	}
	if status == "SUCCESS" {
		r["success_time"] = "2024-06-24T17:00:00+08:00"
	}
	return r
}

func TestParseNotificationFreshVectors(t *testing.T) {
	k := sandboxKeys(t)
	now := time.Date(2024, 6, 24, 8, 37, 30, 0, time.UTC)
	cfg := k.Config(testAppID, testMchID, testNotify, nil)
	cfg.Clock = clock.NewFake(now)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := strings.Repeat("k", 32)
	paid := callback{EventTransactionSuccess, "transaction", transactionResource(testMchID, testAppID, "SUCCESS"), k.APIv3Key, "transaction", "transaction"}
	good := paid.body(t)
	sign := func(body string) *http.Request { return signedRequest(t, k.PlatformKey, k.PlatformKeyID, now, body) }
	with := func(cb callback, f func(*callback)) string { f(&cb); return cb.body(t) }

	tests := []struct {
		name string
		req  *http.Request
		want string // the error code; "" for a valid callback
	}{
		{"valid", sign(good), ""},
		{"signed 4 minutes ago", signedRequest(t, k.PlatformKey, k.PlatformKeyID, now.Add(-4*time.Minute), good), ""},
		{"one byte of the body changed", changed(sign(good), good), "notification_bad_signature"},
		{"wrong associated data", sign(with(paid, func(cb *callback) { cb.statedAD = "refund" })), "notification_undecryptable"},
		{"sealed under another APIv3 key", sign(with(paid, func(cb *callback) { cb.key = otherKey })), "notification_undecryptable"},
		{"stale timestamp", signedRequest(t, k.PlatformKey, k.PlatformKeyID, now.Add(-6*time.Minute), good), "notification_stale"},
		{"timestamp from the future", signedRequest(t, k.PlatformKey, k.PlatformKeyID, now.Add(6*time.Minute), good), "notification_stale"},
		{"SIGNTEST probe", func() *http.Request {
			r := sign(good)
			r.Header.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+r.Header.Get("Wechatpay-Signature"))
			return r
		}(), "notification_probe"},
		{"unknown serial", signedRequest(t, k.PlatformKey, "PUB_KEY_ID_0000000000000000000000000001", now, good), "notification_unknown_serial"},
		{"signed by another key under our serial", signedRequest(t, k.MerchantKey, k.PlatformKeyID, now, good), "notification_bad_signature"},
		{"nonce header missing", func() *http.Request { r := sign(good); r.Header.Del("Wechatpay-Nonce"); return r }(), "notification_headers_missing"},
		{"another signature type", func() *http.Request {
			r := sign(good)
			r.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3")
			return r
		}(), "notification_signature_type"},
		{"body over 64 KiB", sign(strings.Repeat(" ", MaxNotificationBody+1)), "notification_too_large"},
		{"another merchant", sign(with(paid, func(cb *callback) { cb.resource = transactionResource("1900000999", testAppID, "SUCCESS") })), CodeWrongMerchant},
		{"another app", sign(with(paid, func(cb *callback) { cb.resource = transactionResource(testMchID, "wxother", "SUCCESS") })), CodeWrongMerchant},
		{"success event carrying NOTPAY", sign(with(paid, func(cb *callback) { cb.resource = transactionResource(testMchID, testAppID, "NOTPAY") })), "notification_inconsistent"},
		{"unsupported event", sign(with(paid, func(cb *callback) { cb.event = "TRANSACTION.CLOSED" })), "notification_unsupported_event"},
		{"not JSON", sign("{"), "notification_undecodable"},
		{"a nonce of another length", sign(strings.Replace(good, `"nonce":"`, `"nonce":"x`, 1)), "notification_undecodable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := c.ParseNotification(tc.req)
			if tc.want != "" {
				if !errs.Is(err, tc.want) {
					t.Fatalf("err = %v, want %s", err, tc.want)
				}
				if strings.Contains(err.Error(), k.APIv3Key) || strings.Contains(err.Error(), "支付成功") {
					t.Fatalf("the error quotes the key or the body: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := payment.Transaction{
				AppID: testAppID, MchID: testMchID, OutTradeNo: "0190a1b2c3d47e8f9a0b1c2d3e4f5a6b",
				TransactionID: "4200000000202406241234567890", State: payment.TradeSuccess,
				Total: 12345, PayerTotal: 12345, PayerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
				SuccessTime: time.Date(2024, 6, 24, 8, 37, 20, 0, time.UTC),
			}
			got := n.Transaction
			if n.EventType != EventTransactionSuccess || n.ID != "EV-2018022511223320873" || n.Refund != nil || got == nil {
				t.Fatalf("notification = %+v", n)
			}
			if !got.SuccessTime.Equal(want.SuccessTime) {
				t.Fatalf("success time %v, want %v", got.SuccessTime, want.SuccessTime)
			}
			got.SuccessTime = want.SuccessTime
			if *got != want {
				t.Fatalf("transaction = %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestParseRefundNotifications(t *testing.T) {
	k := sandboxKeys(t)
	now := time.Date(2024, 6, 24, 9, 0, 0, 0, time.UTC)
	cfg := k.Config(testAppID, testMchID, testNotify, nil)
	cfg.Clock = clock.NewFake(now)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		event, status string
		want          string
	}{
		{EventRefundSuccess, "SUCCESS", ""},
		{EventRefundAbnormal, "ABNORMAL", ""},
		{EventRefundClosed, "CLOSED", ""},
		{EventRefundSuccess, "ABNORMAL", "notification_inconsistent"},
	} {
		t.Run(tc.event+" "+tc.status, func(t *testing.T) {
			cb := callback{tc.event, "refund", refundResourceJSON(tc.status), k.APIv3Key, "refund", "refund"}
			n, err := c.ParseNotification(signedRequest(t, k.PlatformKey, k.PlatformKeyID, now, cb.body(t)))
			if tc.want != "" {
				if !errs.Is(err, tc.want) {
					t.Fatalf("err = %v, want %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := n.Refund
			if n.Transaction != nil || r == nil || r.Status != payment.RefundStatus(tc.status) || r.Refund != 2345 ||
				r.Total != 12345 || r.OutRefundNo != "R0190a1b2c3d47e8f" || r.RefundID != "50300000000202406241234567890" ||
				(tc.status == "SUCCESS") == r.SuccessTime.IsZero() {
				t.Fatalf("notification = %+v, refund %+v", n, r)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
	}{
		{nil, http.StatusNoContent},
		{unverified("notification_probe", "a signature probe is not a notification", nil), http.StatusUnauthorized},
		{errs.E(errs.Conflict, "not_yet", "the payment is not known yet"), http.StatusBadRequest},
		{errs.E(errs.Unavailable, "db", "try later"), http.StatusInternalServerError},
	} {
		rec := httptest.NewRecorder()
		Answer(rec, tc.err)
		if rec.Code != tc.status {
			t.Errorf("%v: status %d, want %d", tc.err, rec.Code, tc.status)
		}
		if tc.err == nil {
			if rec.Body.Len() != 0 {
				t.Errorf("success answered with a body: %q", rec.Body)
			}
			continue
		}
		var body struct{ Code, Message string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != "FAIL" || body.Message == "" {
			t.Errorf("%v: body %q", tc.err, rec.Body)
		}
	}
}
