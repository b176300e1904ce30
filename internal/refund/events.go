package refund

import (
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Topics of the events refunds emit, keyed by the order id. Every one
// carries a RefundEvent.
const (
	// TopicRequested: a refund's intent is recorded; it will be sent.
	TopicRequested = "refund.requested"
	// TopicSucceeded: the money reached the buyer. The capabilities that
	// gave something with the sale take it back here: stock for returned
	// goods (this package's consumer), coupons and points, commission.
	TopicSucceeded = "refund.succeeded"
	// TopicClosed: the refund will not happen; its amounts are free again.
	TopicClosed = "refund.closed"
	// TopicAbnormal: the platform could not pay the refund out; it waits
	// for an operator (ResolveAbnormal).
	TopicAbnormal = "refund.abnormal"
)

// Topics of the events after-sales emit, keyed by the order id. Every one
// carries an AfterSaleEvent.
const (
	TopicAfterSaleRequested = "aftersale.requested"
	TopicAfterSaleApproved  = "aftersale.approved"
	TopicAfterSaleRejected  = "aftersale.rejected"
	TopicAfterSaleWithdrawn = "aftersale.withdrawn"
	// TopicAfterSaleReturned: the operator received the returned goods and
	// the refund started.
	TopicAfterSaleReturned = "aftersale.returned"
)

// RefundEvent is the payload of every refund event: enough for a consumer
// to act without reading the refund back.
type RefundEvent struct {
	RefundID    string    `json:"refund_id"`
	OrderID     string    `json:"order_id"`
	BuyerID     string    `json:"buyer_id"`
	PaymentID   string    `json:"payment_id"`
	AfterSaleID string    `json:"aftersale_id,omitempty"`
	Source      Source    `json:"source"`
	State       State     `json:"state"`
	Lines       []Line    `json:"lines"` // [{order_line_id, sku_id, qty, amount}]; empty for an automatic refund
	Shipping    money.Fen `json:"shipping"`
	Amount      money.Fen `json:"amount"` // the lines' amounts and the shipping
	// Full: after this refund nothing of the order's payment is left: a
	// consumer reverses everything the order earned, not a share.
	Full bool `json:"full"`
	// Return: the refunded units are back with the merchant, returned by
	// the buyer or never shipped; their stock goes back on success.
	Return     bool       `json:"return"`
	Failure    string     `json:"failure,omitempty"`    // closed, abnormal: why
	Resolution Resolution `json:"resolution,omitempty"` // an operator's, on an abnormal refund
	// Operator and Note: who started the refund, or resolved it, and their
	// note (kept for audit).
	Operator string    `json:"operator,omitempty"`
	Note     string    `json:"note,omitempty"`
	At       time.Time `json:"at"`
}

// AfterSaleEvent is the payload of every after-sale event.
type AfterSaleEvent struct {
	AfterSaleID string         `json:"aftersale_id"`
	OrderID     string         `json:"order_id"`
	BuyerID     string         `json:"buyer_id"`
	Kind        Kind           `json:"kind"`
	State       AfterSaleState `json:"state"`
	Lines       []LineQty      `json:"lines"` // [{order_line_id, qty}]
	Note        string         `json:"note,omitempty"`
	RefundID    string         `json:"refund_id,omitempty"`
	At          time.Time      `json:"at"`
}

func refundEvent(topic string, r *Refund, at time.Time) outbox.Event {
	lines := r.Lines
	if lines == nil {
		lines = []Line{}
	}
	return outbox.New(topic, r.OrderID, RefundEvent{
		RefundID: r.ID, OrderID: r.OrderID, BuyerID: r.BuyerID, PaymentID: r.PaymentID, AfterSaleID: r.AfterSaleID,
		Source: r.Source, State: r.State, Lines: lines, Shipping: r.Shipping, Amount: r.Amount,
		Full: r.Full, Return: r.Return, Failure: r.Failure, Resolution: r.Resolution,
		Operator: r.Operator, Note: r.Note, At: at,
	}, at)
}

func afterSaleEvent(topic string, a *AfterSale, at time.Time) outbox.Event {
	return outbox.New(topic, a.OrderID, AfterSaleEvent{
		AfterSaleID: a.ID, OrderID: a.OrderID, BuyerID: a.BuyerID, Kind: a.Kind, State: a.State,
		Lines: a.Lines, Note: a.Note, RefundID: a.RefundID, At: at,
	}, at)
}
