// Package payment owns paying for an order through a payment platform
// (WeChat Pay API v3, or its simulator through the same client code): the
// prepay, the capture of a verified success (from a signed callback or an
// order query, never from the client), the reconciliation of payments whose
// outcome is unknown, and the close of a payment whose order closed.
//
// A capture moves the order to paid, commits its stock, posts the ledger
// transfers and writes the events in one transaction, and is idempotent: the
// same success any number of times, in any order, concurrently, changes the
// state once.
package payment

import (
	"context"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// State is a payment's state.
type State string

const (
	Pending   State = "pending"   // prepaid; the buyer may be paying
	Succeeded State = "succeeded" // the platform confirmed the money arrived
	Closed    State = "closed"    // closed at the platform unpaid
)

// OutTradeNo is the order's number at the platform: its id without the
// dashes, 32 hex characters (WeChat Pay takes 6 to 32 of [0-9A-Za-z_|*-]).
// One order, one number, so the platform itself refuses a second
// transaction for the same order.
func OutTradeNo(orderID string) string { return strings.ReplaceAll(orderID, "-", "") }

// Payment is one attempt to pay one order; an order has at most one.
type Payment struct {
	ID            string     `json:"id"`
	OrderID       string     `json:"order_id"`
	BuyerID       string     `json:"buyer_id"`
	OutTradeNo    string     `json:"out_trade_no"` // our number at the platform: the order id without dashes
	Amount        money.Fen  `json:"amount"`
	PayerOpenID   string     `json:"-"`
	PrepayID      string     `json:"-"`
	State         State      `json:"state"`
	TransactionID string     `json:"transaction_id,omitempty"` // the platform's number
	Fee           money.Fen  `json:"fee"`                      // the platform's fee, once captured
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// TradeState is the platform's word on a transaction (WeChat Pay's
// trade_state values).
type TradeState string

const (
	TradeSuccess    TradeState = "SUCCESS"
	TradeNotPay     TradeState = "NOTPAY"
	TradeClosed     TradeState = "CLOSED"
	TradeRefund     TradeState = "REFUND" // paid, then (partly) refunded
	TradeUserPaying TradeState = "USERPAYING"
	TradePayError   TradeState = "PAYERROR"
	TradeRevoked    TradeState = "REVOKED"
)

// Transaction is what the platform says about a payment, from a verified
// callback or a query.
type Transaction struct {
	AppID         string
	MchID         string
	OutTradeNo    string
	TransactionID string
	State         TradeState
	Total         money.Fen // what the order asked for
	PayerTotal    money.Fen // what the payer paid
	PayerOpenID   string
	SuccessTime   time.Time
}

// RefundStatus is the platform's word on a refund (WeChat Pay's values).
type RefundStatus string

const (
	RefundSuccess    RefundStatus = "SUCCESS"
	RefundClosed     RefundStatus = "CLOSED"
	RefundProcessing RefundStatus = "PROCESSING"
	RefundAbnormal   RefundStatus = "ABNORMAL"
)

// RefundResult is what the platform says about a refund.
type RefundResult struct {
	OutTradeNo  string
	OutRefundNo string
	RefundID    string
	Status      RefundStatus
	Refund      money.Fen
	Total       money.Fen
	SuccessTime time.Time
}

// PrepayRequest asks the platform to open a transaction.
type PrepayRequest struct {
	OutTradeNo  string
	Description string
	Amount      money.Fen
	PayerOpenID string
	ExpiresAt   time.Time // the order's pay-by: the platform refuses payment after it
}

// PayParams are the signed parameters the mini program passes to
// wx.requestPayment.
type PayParams struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"` // "prepay_id=..."
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// RefundRequest asks the platform to refund.
type RefundRequest struct {
	OutTradeNo  string
	OutRefundNo string // idempotency key at the platform: a retry reuses it
	Reason      string
	Refund      money.Fen
	Total       money.Fen
}

// Gateway is a payment platform, as this domain needs it. The WeChat Pay v3
// implementation lives in internal/wechat/pay; in sandbox mode the same
// implementation talks to the simulator.
//
// Two platform answers change what this domain does, so implementations
// report them as errors carrying these codes (errs.Is):
//   - CodeTradeNotFound from QueryPayment or ClosePayment: the platform has
//     no transaction with that out_trade_no (WeChat's ORDER_NOT_EXIST): the
//     prepay never reached it, so nothing there can be paid.
//   - CodeTradePaid from ClosePayment: the transaction is paid and cannot
//     be closed (WeChat's ORDERPAID): query it and capture.
//
// Prepay with the same request again must give the same transaction:
// WeChat Pay answers a repeated JSAPI prepay of an out_trade_no with
// identical parameters with the same prepay_id, and Pay relies on that to
// hand a buyer fresh signed parameters without a second transaction.
type Gateway interface {
	Prepay(ctx context.Context, r PrepayRequest) (prepayID string, p PayParams, err error)
	QueryPayment(ctx context.Context, outTradeNo string) (Transaction, error)
	ClosePayment(ctx context.Context, outTradeNo string) error
	Refund(ctx context.Context, r RefundRequest) (RefundResult, error)
	QueryRefund(ctx context.Context, outRefundNo string) (RefundResult, error)
}

// Capture is what an UpdatePayment writes beside the payment, in one
// transaction.
type Capture struct {
	// Order is the order's change (its move to paid: stock commit, its
	// events); nil leaves the order row as it is.
	Order     *order.Change
	Transfers []ledger.Transfer
	Events    []outbox.Event
	Jobs      []jobs.Job
}

// Store keeps payments.
type Store interface {
	// CreatePayment inserts a payment; one per order (ErrExists if the
	// order has one: the caller reads it instead).
	CreatePayment(ctx context.Context, p *Payment, js []jobs.Job) error
	// PaymentByOrder and PaymentByOutTradeNo read one payment; ErrNotFound
	// if absent.
	PaymentByOrder(ctx context.Context, orderID string) (*Payment, error)
	PaymentByOutTradeNo(ctx context.Context, outTradeNo string) (*Payment, error)
	// UpdatePayment locks the payment and then its order, lets fn change
	// both, and writes payment, order (when c.Order is set, with its stock
	// effect, events and jobs), the transfers, events and jobs in one
	// transaction. fn returning ErrNoop writes nothing and returns the
	// payment as it was; any other error writes nothing and is returned.
	// Two concurrent updates of one payment are serialised: the second sees
	// the first's result. The amounts, order and out_trade_no of a payment
	// are fixed at creation; fn may change its state, prepay id,
	// transaction id, fee, paid_at and updated_at. fn must be a pure
	// decision on what it is given: an engine may call it more than once
	// (PostgreSQL groups concurrent captures in one transaction and, if
	// the group fails, runs each again alone).
	UpdatePayment(ctx context.Context, outTradeNo string, fn func(p *Payment, o *order.Order) (Capture, error)) (*Payment, error)
}
