package pay

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// The stable codes of the errors the gateway methods return. Kind
// Unavailable means "retry later, with the same out_trade_no or
// out_refund_no"; every other kind means a retry gets the same answer.
//
//	platform answer                                   kind           code
//	no answer, timeout, HTTP 5xx, SYSTEM_ERROR,
//	  FREQUENCY_LIMITED, BANK_ERROR, HTTP 429         Unavailable    payment_gateway_unavailable
//	2xx that fails its signature or does not decode   Unavailable    payment_response_invalid
//	SIGN_ERROR, NO_AUTH, APPID_MCHID_NOT_MATCH,
//	  MCH_NOT_EXISTS (our credentials are wrong)      Unavailable    payment_gateway_misconfigured
//	NOT_ENOUGH (the merchant account is short)        Unavailable    refund_funds_insufficient
//	ORDER_NOT_EXIST, ORDERNOTEXIST                    NotFound       payment_not_found
//	RESOURCE_NOT_EXISTS                               NotFound       payment_not_found (refund create),
//	                                                                 refund_not_found (refund query)
//	ORDERPAID                                         Conflict       payment_already_paid
//	ORDER_CLOSED, ORDERCLOSED                         Conflict       payment_closed
//	OUT_TRADE_NO_USED (same number, other params)     Conflict       out_trade_no_used
//	USER_ACCOUNT_ABNORMAL (the buyer cannot receive)  Conflict       refund_account_abnormal
//	PARAM_ERROR, INVALID_REQUEST, TRADE_ERROR,
//	  RULE_LIMIT, any other 4xx (over-refund, a
//	  refund after 365 days, the 51st refund...)      Unprocessable  payment_request_rejected
//
// NOT_ENOUGH and the misconfigured codes are Unavailable although the
// platform answered: nothing is wrong with the payment or refund itself, and
// the same request succeeds once the account is funded or the credentials
// fixed; their own codes let an alert name the cause.
const (
	CodeUnavailable       = "payment_gateway_unavailable"
	CodeInvalidResponse   = "payment_response_invalid"
	CodeMisconfigured     = "payment_gateway_misconfigured"
	CodeFundsInsufficient = "refund_funds_insufficient"
	CodePaymentNotFound   = codePaymentNotFound
	CodeRefundNotFound    = codeRefundNotFound
	CodeAlreadyPaid       = "payment_already_paid"
	CodeClosed            = "payment_closed"
	CodeOutTradeNoUsed    = "out_trade_no_used"
	CodeAccountAbnormal   = "refund_account_abnormal"
	CodeRejected          = "payment_request_rejected"
	CodeWrongMerchant     = "payment_wrong_merchant"
)

const (
	codePaymentNotFound = "payment_not_found"
	codeRefundNotFound  = "refund_not_found"
)

// APIError is what the platform answered, kept as the cause of the
// errs.Error a gateway method returns, for the logs. It holds the status,
// WeChat's code and message and the request id (what WeChat's support asks
// for), never the body or the headers.
type APIError struct {
	Op        string // "prepay", "refund", ...
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat pay: %s: HTTP %d %s: %s (request %s)", e.Op, e.Status, e.Code, e.Message, e.RequestID)
}

type mapped struct {
	kind errs.Kind
	code string
	msg  string
}

var (
	unavailableMapping = mapped{errs.Unavailable, CodeUnavailable, "the payment platform is unavailable; try again later"}
	misconfigured      = mapped{errs.Unavailable, CodeMisconfigured, "the payment platform refused our credentials; try again later"}
	rejected           = mapped{errs.Unprocessable, CodeRejected, "the payment platform refused the request"}
)

var byWeChatCode = map[string]mapped{
	"SYSTEM_ERROR":          unavailableMapping,
	"SYSTEMERROR":           unavailableMapping,
	"FREQUENCY_LIMITED":     unavailableMapping,
	"BANK_ERROR":            unavailableMapping,
	"BANKERROR":             unavailableMapping,
	"SIGN_ERROR":            misconfigured,
	"NO_AUTH":               misconfigured,
	"APPID_MCHID_NOT_MATCH": misconfigured,
	"MCH_NOT_EXISTS":        misconfigured,
	"NOT_ENOUGH": {errs.Unavailable, CodeFundsInsufficient,
		"the merchant account cannot cover the refund yet; it will be retried"},
	"ORDERPAID":             {errs.Conflict, CodeAlreadyPaid, "the order is already paid"},
	"ORDER_CLOSED":          {errs.Conflict, CodeClosed, "the payment is closed"},
	"ORDERCLOSED":           {errs.Conflict, CodeClosed, "the payment is closed"},
	"OUT_TRADE_NO_USED":     {errs.Conflict, CodeOutTradeNoUsed, "the order number was used for another payment"},
	"USER_ACCOUNT_ABNORMAL": {errs.Conflict, CodeAccountAbnormal, "the buyer's account cannot receive the refund"},
	"PARAM_ERROR":           rejected,
	"INVALID_REQUEST":       rejected,
	"TRADE_ERROR":           rejected,
	"RULE_LIMIT":            rejected,
}

var notFoundCodes = map[string]bool{"ORDER_NOT_EXIST": true, "ORDERNOTEXIST": true, "RESOURCE_NOT_EXISTS": true}

// gatewayError maps what a call to the platform ended with; notFound is the
// code a "no such thing" answer gets for this call.
func gatewayError(op string, result *core.APIResult, err error, notFound string) error {
	var ae *core.APIError
	isAPI := errors.As(err, &ae)
	switch {
	case isAPI:
	case result == nil || result.Response == nil:
		// No answer: a network failure, a timeout, a cancelled context.
		return &errs.Error{Kind: errs.Unavailable, Code: CodeUnavailable, Message: unavailableMapping.msg,
			Err: fmt.Errorf("wechat pay: %s: %w", op, err)}
	default:
		return invalidResponse(op, err)
	}
	// The SDK's own APIError prints every header and keeps the body; ours
	// keeps what a log needs.
	cause := &APIError{Op: op, Status: ae.StatusCode, Code: ae.Code, Message: ae.Message, RequestID: ae.Header.Get("Request-Id")}
	m, known := byWeChatCode[ae.Code]
	switch {
	case notFoundCodes[ae.Code] || (!known && ae.StatusCode == http.StatusNotFound):
		what := "payment"
		if notFound == codeRefundNotFound {
			what = "refund"
		}
		m = mapped{errs.NotFound, notFound, "the payment platform has no such " + what}
	case known:
	case ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests:
		m = unavailableMapping
	case ae.StatusCode == http.StatusUnauthorized:
		m = misconfigured
	default:
		m = rejected
	}
	return &errs.Error{Kind: m.kind, Code: m.code, Message: m.msg, Err: cause}
}

// invalidResponse is an answer that came back 2xx but cannot be trusted or
// read. The call may have taken effect at the platform, so it is retryable
// like an outage: every call is idempotent by its out_trade_no or
// out_refund_no.
func invalidResponse(op string, err error) error {
	return &errs.Error{Kind: errs.Unavailable, Code: CodeInvalidResponse,
		Message: "the payment platform's answer could not be verified; try again later",
		Err:     fmt.Errorf("wechat pay: %s: invalid answer: %w", op, err)}
}
