package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// chinaTime is the zone the platform writes its times in.
var chinaTime = time.FixedZone("CST", 8*60*60)

// authScheme is the only Authorization scheme v3 accepts.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// signatureSkew is how far a request's timestamp may be from the platform's
// clock.
const signatureSkew = 5 * time.Minute

// apiError is the platform's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func fail(status int, code, format string, args ...any) (int, any) {
	return status, apiError{code, fmt.Sprintf(format, args...)}
}

// v3 wraps an endpoint: it reads the body, checks the merchant's
// signature, and signs the answer.
func (p *Pay) v3(h func(r *http.Request, body []byte) (int, any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil || len(body) > maxRequestBody {
			p.respond(w, http.StatusBadRequest, apiError{"PARAM_ERROR", "the body is unreadable or too large"})
			return
		}
		if err := p.authenticate(r, body); err != nil {
			p.respond(w, http.StatusUnauthorized, apiError{"SIGN_ERROR", err.Error()})
			return
		}
		status, v := h(r, body)
		p.respond(w, status, v)
	})
}

// authenticate checks the Authorization header the way the platform does:
// "WECHATPAY2-SHA256-RSA2048 mchid=...,nonce_str=...,timestamp=...,
// serial_no=...,signature=..." with an RSA-SHA256 signature over
// "method\nURI\ntimestamp\nnonce\nbody\n".
func (p *Pay) authenticate(r *http.Request, body []byte) error {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), authScheme+" ")
	if !ok {
		return errors.New("Authorization is missing or not " + authScheme)
	}
	f := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return errors.New("malformed Authorization")
		}
		f[k] = strings.Trim(v, `"`)
	}
	switch {
	case f["mchid"] != p.cfg.MchID:
		return errors.New("mchid does not match")
	case f["serial_no"] != p.cfg.MerchantSerial:
		return errors.New("unknown merchant certificate serial_no")
	case f["nonce_str"] == "" || f["signature"] == "":
		return errors.New("nonce_str and signature are required")
	}
	ts, err := strconv.ParseInt(f["timestamp"], 10, 64)
	if err != nil {
		return errors.New("malformed timestamp")
	}
	// The SDK stamps its requests with the wall clock, whatever clock the
	// simulator keeps for its business.
	if d := time.Since(time.Unix(ts, 0)); d > signatureSkew || d < -signatureSkew {
		return errors.New("timestamp expired")
	}
	sig, err := base64.StdEncoding.DecodeString(f["signature"])
	if err != nil {
		return errors.New("signature is not base64")
	}
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	msg := r.Method + "\n" + uri + "\n" + f["timestamp"] + "\n" + f["nonce_str"] + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(p.cfg.MerchantKey, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("signature does not verify")
	}
	return nil
}

// respond writes v (nil: no body) signed with the platform key, as every
// v3 answer is: Wechatpay-Signature over "timestamp\nnonce\nbody\n".
func (p *Pay) respond(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			status, body = http.StatusInternalServerError, []byte(`{"code":"SYSTEM_ERROR","message":"encoding"}`)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	p.signHeaders(w.Header(), time.Now(), body)
	w.Header().Set("Request-ID", hex.EncodeToString(randomBytes(16)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// signHeaders sets the platform's signature headers for body at time at.
func (p *Pay) signHeaders(h http.Header, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := randomString(32)
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.cfg.PlatformKey, crypto.SHA256, sum[:])
	if err != nil {
		panic(err) // only a broken key fails, and NewPay was given a parsed one
	}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", p.cfg.PlatformKeyID)
	h.Set("Wechatpay-Signature-Type", authScheme)
}

type prepayBody struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	TimeExpire  string `json:"time_expire"`
	NotifyURL   string `json:"notify_url"`
	Amount      struct {
		Total    money.Fen `json:"total"`
		Currency string    `json:"currency"`
	} `json:"amount"`
	Payer struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
}

func (p *Pay) prepay(_ *http.Request, body []byte) (int, any) {
	var in prepayBody
	if err := json.Unmarshal(body, &in); err != nil {
		return fail(http.StatusBadRequest, "PARAM_ERROR", "the body is not valid JSON")
	}
	now := p.now()
	switch {
	case in.AppID != p.cfg.AppID || in.MchID != p.cfg.MchID:
		return fail(http.StatusForbidden, "APPID_MCHID_NOT_MATCH", "appid and mchid do not match")
	case in.Description == "" || len(in.Description) > 127:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "description must be 1 to 127 bytes")
	case len(in.OutTradeNo) < 6 || len(in.OutTradeNo) > 32:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "out_trade_no must be 6 to 32 characters")
	case !httpsOnly(in.NotifyURL):
		return fail(http.StatusBadRequest, "PARAM_ERROR", "notify_url must be an https URL")
	case in.Amount.Total <= 0:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "amount.total must be at least 1 fen")
	case in.Amount.Currency != "" && in.Amount.Currency != "CNY":
		return fail(http.StatusBadRequest, "PARAM_ERROR", "amount.currency must be CNY")
	case in.Payer.OpenID == "":
		return fail(http.StatusBadRequest, "PARAM_ERROR", "payer.openid is required")
	}
	expire := now.Add(prepayValidity)
	if in.TimeExpire != "" {
		// The platform's format is yyyy-MM-DDTHH:mm:ss+TIMEZONE: whole
		// seconds. Go would accept a fraction; the platform does not.
		t, err := time.Parse(time.RFC3339, in.TimeExpire)
		if err != nil || strings.Contains(in.TimeExpire, ".") {
			return fail(http.StatusBadRequest, "PARAM_ERROR", "time_expire must be yyyy-MM-DDTHH:mm:ss+TIMEZONE")
		}
		if !t.After(now) {
			return fail(http.StatusBadRequest, "PARAM_ERROR", "time_expire has passed")
		}
		expire = t
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.byTrade[in.OutTradeNo]; t != nil {
		switch {
		case t.state == stateClosed:
			return fail(http.StatusBadRequest, "ORDER_CLOSED", "the order is closed")
		case t.state != stateNotPay:
			return fail(http.StatusBadRequest, "ORDERPAID", "the order is already paid")
		case t.total != in.Amount.Total || t.openID != in.Payer.OpenID || t.description != in.Description || t.notifyURL != in.NotifyURL:
			return fail(http.StatusForbidden, "OUT_TRADE_NO_USED", "out_trade_no was used with other parameters")
		}
		// The same order asked again: the platform answers with the
		// prepay_id it gave, so a retried prepay never opens a second
		// transaction.
		return http.StatusOK, map[string]string{"prepay_id": t.prepayID}
	}
	t := &txn{
		outTradeNo: in.OutTradeNo, description: in.Description, openID: in.Payer.OpenID, notifyURL: in.NotifyURL,
		total: in.Amount.Total, state: stateNotPay, expire: expire, created: now,
		prepayID: "wx" + now.In(chinaTime).Format("20060102150405") + hex.EncodeToString(randomBytes(10)),
	}
	p.byTrade[t.outTradeNo] = t
	p.byPrepay[t.prepayID] = t
	return http.StatusOK, map[string]string{"prepay_id": t.prepayID}
}

func (p *Pay) query(r *http.Request, _ []byte) (int, any) {
	if r.URL.Query().Get("mchid") != p.cfg.MchID {
		return fail(http.StatusBadRequest, "PARAM_ERROR", "mchid is missing or not the caller's")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.byTrade[r.PathValue("no")]
	if t == nil {
		return fail(http.StatusNotFound, "ORDER_NOT_EXIST", "no such order")
	}
	return http.StatusOK, p.transactionJSON(t)
}

func (p *Pay) close(r *http.Request, body []byte) (int, any) {
	var in struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.MchID != p.cfg.MchID {
		return fail(http.StatusBadRequest, "PARAM_ERROR", "mchid is missing or not the caller's")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.byTrade[r.PathValue("no")]
	switch {
	case t == nil:
		return fail(http.StatusNotFound, "ORDER_NOT_EXIST", "no such order")
	case t.state == stateSuccess || t.state == stateRefund:
		return fail(http.StatusBadRequest, "ORDERPAID", "the order is paid and cannot be closed")
	}
	t.state = stateClosed // closing a closed order is a success too
	return http.StatusNoContent, nil
}

// transactionJSON is a transaction as a query answers it and a callback
// carries it.
func (p *Pay) transactionJSON(t *txn) any {
	type amount struct {
		Total         money.Fen  `json:"total"`
		PayerTotal    *money.Fen `json:"payer_total,omitempty"`
		Currency      string     `json:"currency"`
		PayerCurrency string     `json:"payer_currency"`
	}
	type payer struct {
		OpenID string `json:"openid"`
	}
	out := struct {
		AppID          string `json:"appid"`
		MchID          string `json:"mchid"`
		OutTradeNo     string `json:"out_trade_no"`
		TransactionID  string `json:"transaction_id,omitempty"`
		TradeType      string `json:"trade_type,omitempty"`
		TradeState     string `json:"trade_state"`
		TradeStateDesc string `json:"trade_state_desc"`
		BankType       string `json:"bank_type,omitempty"`
		Attach         string `json:"attach"`
		SuccessTime    string `json:"success_time,omitempty"`
		Payer          payer  `json:"payer"`
		Amount         amount `json:"amount"`
	}{
		AppID: p.cfg.AppID, MchID: p.cfg.MchID, OutTradeNo: t.outTradeNo,
		TradeState: t.state, TradeStateDesc: tradeStateDesc[t.state],
		Payer:  payer{t.openID},
		Amount: amount{Total: t.total, Currency: "CNY", PayerCurrency: "CNY"},
	}
	if !t.paid.IsZero() {
		paid := t.total
		out.TransactionID, out.TradeType, out.BankType = t.transactionID, "JSAPI", "OTHERS"
		out.SuccessTime = t.paid.In(chinaTime).Format(time.RFC3339)
		out.Amount.PayerTotal = &paid
	}
	return out
}

var tradeStateDesc = map[string]string{
	stateNotPay: "订单未支付", stateSuccess: "支付成功", stateClosed: "订单已关闭", stateRefund: "订单发生过退款",
}

// writeJSON answers the sandbox-only endpoint, which the platform does not
// have and so does not sign.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

// randomString makes a nonce from the platform's alphabet.
func randomString(n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := randomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
