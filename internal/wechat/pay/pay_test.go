package pay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/payment"
)

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// answering is a platform that answers every request with status and body,
// unsigned: the SDK reads an error answer before it checks a signature.
func answering(status int, body string) *http.Client {
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"08F4A7B5-REQ"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r,
		}, nil
	})}
}

func clientWith(t *testing.T, hc *http.Client) *Client {
	t.Helper()
	c, err := New(sandboxKeys(t).Config(testAppID, testMchID, testNotify, hc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGatewayErrors(t *testing.T) {
	ctx := context.Background()
	prepay := func(c *Client) error {
		_, _, err := c.Prepay(ctx, payment.PrepayRequest{OutTradeNo: "order0001", Description: "tea", Amount: 100, PayerOpenID: "o1"})
		return err
	}
	query := func(c *Client) error { _, err := c.QueryPayment(ctx, "order0001"); return err }
	closeIt := func(c *Client) error { return c.ClosePayment(ctx, "order0001") }
	refund := func(c *Client) error {
		_, err := c.Refund(ctx, payment.RefundRequest{OutTradeNo: "order0001", OutRefundNo: "r1", Refund: 50, Total: 100})
		return err
	}
	queryRefund := func(c *Client) error { _, err := c.QueryRefund(ctx, "r1"); return err }

	const detail = `"detail":{"field":"/amount/total","value":"secret-looking-detail"}`
	tests := []struct {
		name   string
		hc     *http.Client
		call   func(*Client) error
		kind   errs.Kind
		code   string
		status int
	}{
		{"no answer", &http.Client{Transport: roundTrip(func(*http.Request) (*http.Response, error) {
			return nil, errors.New("connection refused")
		})}, prepay, errs.Unavailable, CodeUnavailable, 0},
		{"500 SYSTEM_ERROR", answering(500, `{"code":"SYSTEM_ERROR","message":"系统错误"}`), prepay, errs.Unavailable, CodeUnavailable, 500},
		{"502 from a proxy", answering(502, `<html>bad gateway</html>`), query, errs.Unavailable, CodeUnavailable, 502},
		{"429", answering(429, `{"code":"FREQUENCY_LIMITED","message":"频率超限"}`), refund, errs.Unavailable, CodeUnavailable, 429},
		{"401 SIGN_ERROR", answering(401, `{"code":"SIGN_ERROR","message":"签名错误"}`), prepay, errs.Unavailable, CodeMisconfigured, 401},
		{"ORDER_NOT_EXIST on query", answering(404, `{"code":"ORDER_NOT_EXIST","message":"订单不存在"}`), query, errs.NotFound, CodePaymentNotFound, 404},
		{"RESOURCE_NOT_EXISTS on refund query", answering(404, `{"code":"RESOURCE_NOT_EXISTS","message":"退款单不存在"}`), queryRefund, errs.NotFound, CodeRefundNotFound, 404},
		{"ORDERPAID on close", answering(400, `{"code":"ORDERPAID","message":"订单已支付"}`), closeIt, errs.Conflict, CodeAlreadyPaid, 400},
		{"OUT_TRADE_NO_USED on prepay", answering(403, `{"code":"OUT_TRADE_NO_USED","message":"商户订单号重复"}`), prepay, errs.Conflict, CodeOutTradeNoUsed, 403},
		{"NOT_ENOUGH on refund", answering(403, `{"code":"NOT_ENOUGH","message":"余额不足",`+detail+`}`), refund, errs.Unavailable, CodeFundsInsufficient, 403},
		{"USER_ACCOUNT_ABNORMAL on refund", answering(403, `{"code":"USER_ACCOUNT_ABNORMAL","message":"退款请求失败"}`), refund, errs.Conflict, CodeAccountAbnormal, 403},
		{"INVALID_REQUEST on refund", answering(400, `{"code":"INVALID_REQUEST","message":"超过可退金额",`+detail+`}`), refund, errs.Unprocessable, CodeRejected, 400},
		{"an unknown 4xx", answering(403, `{"code":"SOMETHING_NEW","message":"?"}`), prepay, errs.Unprocessable, CodeRejected, 403},
		{"200 without a signature", answering(200, `{"prepay_id":"wx1"}`), prepay, errs.Unavailable, CodeInvalidResponse, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(clientWith(t, tc.hc))
			e, ok := errs.As(err)
			if !ok || e.Kind != tc.kind || e.Code != tc.code {
				t.Fatalf("err = %v (%v), want kind %v code %s", err, errs.KindOf(err), tc.kind, tc.code)
			}
			if strings.Contains(err.Error(), "secret-looking-detail") {
				t.Fatalf("the error carries the answer's body: %v", err)
			}
			var api *APIError
			if tc.status != 0 {
				if !errors.As(err, &api) || api.Status != tc.status || api.RequestID != "08F4A7B5-REQ" {
					t.Fatalf("cause %+v, want HTTP %d with its request id", api, tc.status)
				}
			}
		})
	}
}

func TestRequestsAreCheckedBeforeSending(t *testing.T) {
	sent := false
	c := clientWith(t, &http.Client{Transport: roundTrip(func(*http.Request) (*http.Response, error) {
		sent = true
		return nil, errors.New("must not be sent")
	})})
	ctx := context.Background()
	_, _, err := c.Prepay(ctx, payment.PrepayRequest{OutTradeNo: "abc", Amount: 0})
	if fields := errs.Fields(err); len(fields) != 4 {
		t.Errorf("prepay errors %v, want out_trade_no, amount, payer_openid, description", err)
	}
	_, err = c.Refund(ctx, payment.RefundRequest{OutTradeNo: "order0001", OutRefundNo: "r1", Refund: 101, Total: 100})
	if errs.KindOf(err) != errs.Invalid {
		t.Errorf("refund over its total: %v", err)
	}
	if sent {
		t.Fatal("an invalid request reached the platform")
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	k := sandboxKeys(t)
	_, err := New(Config{APIv3Key: "0123456789abcdef", NotifyURL: "https://x/cb?a=1"})
	if err == nil {
		t.Fatal("an empty config was accepted")
	}
	for _, want := range []string{"AppID", "MchID", "CertSerial", "PublicKeyID", "PrivateKey", "PublicKey", "APIv3Key must be 32 bytes", "NotifyURL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "0123456789abcdef") {
		t.Error("the error quotes the APIv3 key")
	}
	if _, err := New(k.Config(testAppID, testMchID, testNotify, nil)); err != nil {
		t.Fatalf("a complete config: %v", err)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("茶", 200) // 3 bytes each
	got := clip(long, maxDescription)
	if len(got) != 126 || !utf8.ValidString(got) {
		t.Fatalf("clip kept %d bytes (valid UTF-8: %v), want 126", len(got), utf8.ValidString(got))
	}
	if clip("tea", 127) != "tea" {
		t.Fatal("clip changed a short string")
	}
}
