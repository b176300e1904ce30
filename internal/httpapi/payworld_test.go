package httpapi_test

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// paid places an order for c and pays it through the simulator: the buyer
// asks for the payment parameters, the simulated buyer pays, the platform's
// callback arrives at the app. It returns the order, paid.
func (w *world) paid(c *client, addressID string, lines ...any) order.Order {
	w.t.Helper()
	o := w.placeOrder(c, addressID, lines...)
	c.must(201, "POST", "/api/v1/orders/"+o.ID+"/payments", nil, nil)
	w.buyerPays(o.ID)
	c.must(200, "GET", "/api/v1/orders/"+o.ID, nil, &o)
	if o.Status != order.Paid {
		w.t.Fatalf("order %s is %s after its payment callback", o.ID, o.Status)
	}
	return o
}

// buyerPays is the buyer paying in WeChat, and the platform's callback
// delivered (and answered) before it returns.
func (w *world) buyerPays(orderID string) {
	w.t.Helper()
	if err := w.app.PaySandbox.PayOrder(payment.OutTradeNo(orderID)); err != nil {
		w.t.Fatalf("the simulated buyer pays: %v", err)
	}
	w.settle()
}

// failRefunds makes the platform fail every refund of the order: the money
// leaves the merchant but cannot reach the buyer (REFUND.ABNORMAL).
func (w *world) failRefunds(orderID string) {
	w.app.PaySandbox.Inject(payment.OutTradeNo(orderID), sandbox.Faults{FailRefund: true})
}

// settle runs everything under way to its end: the simulator's callbacks
// and refunds, the app's jobs (sending refunds) and events, until neither
// has anything left.
func (w *world) settle() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 10 {
		before := len(w.app.PaySandbox.Deliveries())
		if err := w.app.PaySandbox.Flush(ctx); err != nil {
			w.t.Fatalf("simulator flush: %v", err)
		}
		w.app.Drain(w.t)
		if err := w.app.PaySandbox.Flush(ctx); err != nil {
			w.t.Fatalf("simulator flush: %v", err)
		}
		if len(w.app.PaySandbox.Deliveries()) == before {
			return
		}
	}
	w.t.Fatal("the simulator and the app did not settle in 10 rounds")
}

// soundLedger reads the trial balance as finance and fails unless the book
// balances and the ledger check finds nothing.
func (w *world) soundLedger() trialBalanceView {
	w.t.Helper()
	var tb trialBalanceView
	w.finance.must(200, "GET", "/admin/api/v1/ledger/trial-balance", nil, &tb)
	if !tb.Balanced || tb.Totals.PostedDebits != tb.Totals.PostedCredits || tb.Totals.PendingDebits != tb.Totals.PendingCredits {
		w.t.Fatalf("the trial balance does not balance: %+v", tb)
	}
	var check struct {
		Sound    bool            `json:"sound"`
		Breaches []ledger.Breach `json:"breaches"`
	}
	w.finance.must(200, "GET", "/admin/api/v1/ledger/check", nil, &check)
	if !check.Sound || len(check.Breaches) != 0 {
		w.t.Fatalf("ledger check: %+v", check)
	}
	return tb
}

type trialBalanceView struct {
	Accounts []struct {
		ID             string    `json:"id"`
		Balance        money.Fen `json:"balance"`
		PostedDebits   money.Fen `json:"posted_debits"`
		PostedCredits  money.Fen `json:"posted_credits"`
		PendingDebits  money.Fen `json:"pending_debits"`
		PendingCredits money.Fen `json:"pending_credits"`
	} `json:"accounts"`
	Totals struct {
		PostedDebits   money.Fen `json:"posted_debits"`
		PostedCredits  money.Fen `json:"posted_credits"`
		PendingDebits  money.Fen `json:"pending_debits"`
		PendingCredits money.Fen `json:"pending_credits"`
	} `json:"totals"`
	Balanced bool `json:"balanced"`
}

func (tb trialBalanceView) balance(account string) money.Fen {
	for _, a := range tb.Accounts {
		if a.ID == account {
			return a.Balance
		}
	}
	return 0
}

// platform plays WeChat Pay's part in a callback test: it holds the keys
// the sandbox app trusts and seals and signs notifications with them, as
// the platform does, so a test can send exactly the bytes it means to.
type platform struct {
	keys         pay.SandboxKeys
	appID, mchID string
	now          func() time.Time
}

// platformOf loads the sandbox keys the app made in its data directory
// and asks the simulator about a transaction the app prepaid, for the
// merchant and app ids and, once paid, the platform's number and time.
func (w *world) platformOf(outTradeNo string) (platform, payment.Transaction) {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.app.Config.Dir(), "wechatpay-sandbox.pem"))
	if err != nil {
		w.t.Fatalf("the app's sandbox pay keys: %v", err)
	}
	keys, err := pay.ParseSandboxKeys(b)
	if err != nil {
		w.t.Fatal(err)
	}
	tx, err := w.app.PayGateway.QueryPayment(context.Background(), outTradeNo)
	if err != nil {
		w.t.Fatalf("query %s: %v", outTradeNo, err)
	}
	return platform{keys: keys, appID: tx.AppID, mchID: tx.MchID, now: w.app.Clock.Now}, tx
}

// transaction is the resource of a TRANSACTION.SUCCESS notification of tx,
// saying total was paid.
func (p platform) transaction(tx payment.Transaction, total money.Fen) map[string]any {
	return map[string]any{
		"appid": p.appID, "mchid": p.mchID, "out_trade_no": tx.OutTradeNo,
		"transaction_id": tx.TransactionID, "trade_type": "JSAPI",
		"trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"success_time": tx.SuccessTime.Format(time.RFC3339),
		"payer":        map[string]string{"openid": tx.PayerOpenID},
		"amount":       map[string]any{"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
	}
}

// refund is the resource of a REFUND.* notification.
func (p platform) refund(outTradeNo, outRefundNo, status string, refund, total money.Fen) map[string]any {
	r := map[string]any{
		"mchid": p.mchID, "out_trade_no": outTradeNo, "transaction_id": "4200000000",
		"out_refund_no": outRefundNo, "refund_id": "50300000000" + outRefundNo[:8], "refund_status": status,
		"user_received_account": "支付用户零钱",
		"amount":                map[string]any{"total": total, "refund": refund, "payer_total": total, "payer_refund": refund},
	}
	if status == "SUCCESS" {
		r["success_time"] = p.now().Format(time.RFC3339)
	}
	return r
}

// notification seals resource into a notification body of event.
func (p platform) notification(t testing.TB, event string, resource any) string {
	t.Helper()
	plain, err := json.Marshal(resource)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher([]byte(p.keys.APIv3Key))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := hex.EncodeToString(randomBytes(t, 6)) // 12 characters, as the platform's
	kind := "transaction"
	if strings.HasPrefix(event, "REFUND.") {
		kind = "refund"
	}
	sealed := gcm.Seal(nil, []byte(nonce), plain, []byte(kind))
	b, err := json.Marshal(map[string]any{
		"id": "EV-" + hex.EncodeToString(randomBytes(t, 8)), "create_time": p.now().Format(time.RFC3339),
		"resource_type": "encrypt-resource", "event_type": event, "summary": "通知",
		"resource": map[string]string{
			"original_type": kind, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(sealed), "associated_data": kind, "nonce": nonce,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sign returns the Wechatpay-* headers of body signed at at.
func (p platform) sign(t testing.TB, body string, at time.Time) []string {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := hex.EncodeToString(randomBytes(t, 16))
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + body + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.keys.PlatformKey, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		"Wechatpay-Timestamp", ts, "Wechatpay-Nonce", nonce, "Wechatpay-Serial", p.keys.PlatformKeyID,
		"Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig), "Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048",
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
