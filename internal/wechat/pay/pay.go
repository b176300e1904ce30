// Package pay is siyu's WeChat Pay API v3 client: the payment.Gateway the
// payment domain calls (JSAPI prepay with the wx.requestPayment signature,
// order query and close, refund create and query), the verifier and
// decryptor of the platform's callbacks, and the keys sandbox mode keeps.
//
// It calls the official SDK (github.com/wechatpay-apiv3/wechatpay-go) in
// public-key mode, so no platform certificate is downloaded. In sandbox mode
// the same code talks to the simulator in wechat/sandbox: Config.HTTP carries
// the requests there, and nothing else differs.
package pay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
)

// DefaultTimeout bounds one call when Config.HTTP is nil. A buyer waits on
// a prepay; the SDK's own default (30 s) is longer than anyone waits at a
// checkout.
const DefaultTimeout = 10 * time.Second

// Platform limits on the fields we send (WeChat Pay v3 API reference).
const (
	maxDescription = 127
	maxReason      = 80
	maxOutTradeNo  = 32
	minOutTradeNo  = 6
	maxOutRefundNo = 64
)

// chinaTime is the zone WeChat Pay writes its times in; time_expire is sent
// in it so the value reads the same in the merchant platform's console.
var chinaTime = time.FixedZone("CST", 8*60*60)

// Config is a merchant's WeChat Pay credentials and where callbacks go.
type Config struct {
	AppID       string          // the mini program's appid
	MchID       string          // merchant number
	CertSerial  string          // serial number of the merchant API certificate
	PrivateKey  *rsa.PrivateKey // merchant API private key (apiclient_key.pem): signs requests and paySign
	APIv3Key    string          // 32 bytes: decrypts callback resources
	PublicKeyID string          // the platform public key's id (PUB_KEY_ID_...)
	PublicKey   *rsa.PublicKey  // the platform public key: verifies responses and callbacks
	// NotifyURL is the base of our callback endpoint: payment callbacks go
	// to NotifyURL+"/pay", refund callbacks to NotifyURL+"/refund".
	NotifyURL string
	HTTP      *http.Client // nil: a client with DefaultTimeout
	Clock     clock.Clock  // judges callback timestamps; nil: the wall clock
}

// Client is the WeChat Pay v3 payment.Gateway, and the verifier of the
// platform's callbacks.
type Client struct {
	appID, mchID    string
	payNotifyURL    string
	refundNotifyURL string
	jsapi           *jsapi.JsapiApiService
	refunds         *refunddomestic.RefundsApiService
	notifications   notifier
}

var _ payment.Gateway = (*Client)(nil)

// New checks cfg and builds a client. Every field but HTTP and Clock is
// required; the error names the missing or malformed ones, never a value.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	sdk, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.CertSerial, cfg.PrivateKey, cfg.PublicKeyID, cfg.PublicKey),
		option.WithHTTPClient(hc),
	)
	if err != nil {
		return nil, fmt.Errorf("wechat pay: %w", err)
	}
	now := time.Now
	if cfg.Clock != nil {
		now = cfg.Clock.Now
	}
	base := strings.TrimRight(cfg.NotifyURL, "/")
	return &Client{
		appID: cfg.AppID, mchID: cfg.MchID,
		payNotifyURL: base + "/pay", refundNotifyURL: base + "/refund",
		jsapi:   &jsapi.JsapiApiService{Client: sdk},
		refunds: &refunddomestic.RefundsApiService{Client: sdk},
		notifications: notifier{
			keyID:    cfg.PublicKeyID,
			verifier: verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PublicKeyID, *cfg.PublicKey),
			apiV3Key: cfg.APIv3Key,
			now:      now,
		},
	}, nil
}

func (cfg Config) validate() error {
	var bad []string
	need := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			bad = append(bad, name+" is required")
		}
	}
	need("AppID", cfg.AppID)
	need("MchID", cfg.MchID)
	need("CertSerial", cfg.CertSerial)
	need("PublicKeyID", cfg.PublicKeyID)
	if cfg.PrivateKey == nil {
		bad = append(bad, "PrivateKey is required")
	}
	if cfg.PublicKey == nil {
		bad = append(bad, "PublicKey is required")
	}
	// AEAD_AES_256_GCM: the merchant platform only issues 32-byte keys, and
	// a shorter one would silently select AES-128 in crypto/aes.
	if len(cfg.APIv3Key) != 32 {
		bad = append(bad, "APIv3Key must be 32 bytes")
	}
	// The platform refuses a notify_url that is not https or that has a
	// query string; better to hear it at start than at the first prepay.
	if u, err := url.Parse(cfg.NotifyURL); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad = append(bad, "NotifyURL must be an absolute https URL without a query")
	}
	if len(bad) > 0 {
		return fmt.Errorf("wechat pay config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Prepay opens a JSAPI transaction and signs the wx.requestPayment
// parameters for the mini program. Asking again with the same out_trade_no
// and the same parameters gets the same prepay_id from the platform.
func (c *Client) Prepay(ctx context.Context, r payment.PrepayRequest) (string, payment.PayParams, error) {
	var l errs.List
	checkOutTradeNo(&l, r.OutTradeNo)
	if r.Amount <= 0 {
		l.Add("amount", "invalid_amount", "the amount must be at least 1 fen")
	}
	if r.PayerOpenID == "" {
		l.Add("payer_openid", "required", "the payer's openid is required")
	}
	if strings.TrimSpace(r.Description) == "" {
		l.Add("description", "required", "a description is required")
	}
	if err := l.Err(); err != nil {
		return "", payment.PayParams{}, err
	}
	req := jsapi.PrepayRequest{
		Appid:       core.String(c.appID),
		Mchid:       core.String(c.mchID),
		Description: core.String(clip(r.Description, maxDescription)),
		OutTradeNo:  core.String(r.OutTradeNo),
		NotifyUrl:   core.String(c.payNotifyURL),
		Amount:      &jsapi.Amount{Total: core.Int64(int64(r.Amount)), Currency: core.String("CNY")},
		Payer:       &jsapi.Payer{Openid: core.String(r.PayerOpenID)},
	}
	if !r.ExpiresAt.IsZero() {
		// The platform takes whole seconds; the SDK would send our
		// nanoseconds, which its format does not allow. Truncating keeps
		// the platform's deadline at or before ours, so it never takes a
		// payment for an order we have already closed.
		t := r.ExpiresAt.Truncate(time.Second).In(chinaTime)
		req.TimeExpire = &t
	}
	resp, result, err := c.jsapi.PrepayWithRequestPayment(ctx, req)
	if err != nil {
		return "", payment.PayParams{}, gatewayError("prepay", result, err, codePaymentNotFound)
	}
	if resp.PrepayId == nil || *resp.PrepayId == "" || resp.PaySign == nil {
		return "", payment.PayParams{}, invalidResponse("prepay", errors.New("no prepay_id in the answer"))
	}
	return *resp.PrepayId, payment.PayParams{
		AppID:     str(resp.Appid),
		TimeStamp: str(resp.TimeStamp),
		NonceStr:  str(resp.NonceStr),
		Package:   str(resp.Package),
		SignType:  str(resp.SignType),
		PaySign:   str(resp.PaySign),
	}, nil
}

// QueryPayment asks the platform what became of a transaction. An unknown
// out_trade_no is errs.NotFound "payment_not_found".
func (c *Client) QueryPayment(ctx context.Context, outTradeNo string) (payment.Transaction, error) {
	if outTradeNo == "" {
		return payment.Transaction{}, errs.Field("out_trade_no", "required", "out_trade_no is required")
	}
	tx, result, err := c.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.mchID),
	})
	if err != nil {
		return payment.Transaction{}, gatewayError("query payment", result, err, codePaymentNotFound)
	}
	t, err := transactionFrom(tx)
	if err != nil {
		return payment.Transaction{}, invalidResponse("query payment", err)
	}
	if err := c.ours(t.AppID, t.MchID); err != nil {
		return payment.Transaction{}, err
	}
	return t, nil
}

// ClosePayment closes an unpaid transaction, so the buyer can no longer pay
// it. Closing a closed one succeeds; a paid one is errs.Conflict
// "payment_already_paid": the caller must capture it, not close the order.
func (c *Client) ClosePayment(ctx context.Context, outTradeNo string) error {
	if outTradeNo == "" {
		return errs.Field("out_trade_no", "required", "out_trade_no is required")
	}
	result, err := c.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.mchID)})
	if err != nil {
		return gatewayError("close payment", result, err, codePaymentNotFound)
	}
	return nil
}

// Refund asks the platform to refund part or all of a paid transaction.
// It is idempotent by OutRefundNo: a retry with the same number (after a
// timeout, say) gets the refund the first attempt made, never a second one.
// The answer is usually PROCESSING; the outcome comes by callback or
// QueryRefund.
func (c *Client) Refund(ctx context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	var l errs.List
	checkOutTradeNo(&l, r.OutTradeNo)
	if r.OutRefundNo == "" || len(r.OutRefundNo) > maxOutRefundNo {
		l.Add("out_refund_no", "invalid_out_refund_no", "out_refund_no must be 1 to %d characters", maxOutRefundNo)
	}
	if r.Refund <= 0 {
		l.Add("refund", "invalid_amount", "the refund must be at least 1 fen")
	}
	if r.Total <= 0 || r.Refund > r.Total {
		l.Add("total", "invalid_amount", "the total must be positive and at least the refund")
	}
	if err := l.Err(); err != nil {
		return payment.RefundResult{}, err
	}
	req := refunddomestic.CreateRequest{
		OutTradeNo:  core.String(r.OutTradeNo),
		OutRefundNo: core.String(r.OutRefundNo),
		NotifyUrl:   core.String(c.refundNotifyURL),
		Amount: &refunddomestic.AmountReq{
			Refund: core.Int64(int64(r.Refund)), Total: core.Int64(int64(r.Total)), Currency: core.String("CNY"),
		},
	}
	if r.Reason != "" {
		// The reason shows in the buyer's refund message; a long one is
		// cut rather than failing the refund.
		req.Reason = core.String(clip(r.Reason, maxReason))
	}
	resp, result, err := c.refunds.Create(ctx, req)
	if err != nil {
		return payment.RefundResult{}, gatewayError("refund", result, err, codePaymentNotFound)
	}
	res, err := refundFrom(resp)
	if err != nil {
		return payment.RefundResult{}, invalidResponse("refund", err)
	}
	return res, nil
}

// QueryRefund asks the platform about a refund. An unknown out_refund_no is
// errs.NotFound "refund_not_found".
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (payment.RefundResult, error) {
	if outRefundNo == "" {
		return payment.RefundResult{}, errs.Field("out_refund_no", "required", "out_refund_no is required")
	}
	resp, result, err := c.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if err != nil {
		return payment.RefundResult{}, gatewayError("query refund", result, err, codeRefundNotFound)
	}
	res, err := refundFrom(resp)
	if err != nil {
		return payment.RefundResult{}, invalidResponse("query refund", err)
	}
	return res, nil
}

// ours checks that what the platform sent is about this merchant and app.
// A signature proves the platform sent it, not that it was meant for us: a
// platform key shared by two shops, or a misrouted callback, would pass it.
func (c *Client) ours(appID, mchID string) error {
	if mchID != c.mchID || (appID != "" && appID != c.appID) {
		return &errs.Error{Kind: errs.Forbidden, Code: CodeWrongMerchant,
			Message: "the payment platform's message is for another merchant or app",
			Err:     fmt.Errorf("wechat pay: message for mchid %q appid %q", mchID, appID)}
	}
	return nil
}

func checkOutTradeNo(l *errs.List, no string) {
	if len(no) < minOutTradeNo || len(no) > maxOutTradeNo {
		l.Add("out_trade_no", "invalid_out_trade_no", "out_trade_no must be %d to %d characters", minOutTradeNo, maxOutTradeNo)
	}
}

// clip cuts s to at most n bytes without splitting a character. The
// reference gives these limits as string[1,n] without saying whether it
// counts bytes or characters; bytes are safe either way.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
