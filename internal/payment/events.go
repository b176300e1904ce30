package payment

import (
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

// Topics of the events a payment emits, keyed by the order id.
const (
	// TopicCaptured: the money arrived for an order that was waiting for
	// it (the same transaction moved the order to paid).
	TopicCaptured = "payment.captured"
	// TopicCapturedAfterClose: the money arrived for an order that had
	// already closed or been cancelled (its stock released). The money is
	// recorded and on the ledger; the refund capability's consumer refunds
	// it in full.
	TopicCapturedAfterClose = "payment.captured_after_close"
)

// JobReconcile asks the platform about a payment whose outcome we have not
// heard, keyed by out_trade_no.
const JobReconcile = "payment.reconcile"

// Event is the payload of every payment event.
type Event struct {
	PaymentID     string       `json:"payment_id"`
	OrderID       string       `json:"order_id"`
	BuyerID       string       `json:"buyer_id"`
	OutTradeNo    string       `json:"out_trade_no"`
	TransactionID string       `json:"transaction_id"`
	Amount        money.Fen    `json:"amount"` // what was paid, in fen
	Fee           money.Fen    `json:"fee"`    // the platform's fee on it
	PaidAt        time.Time    `json:"paid_at"`
	OrderStatus   order.Status `json:"order_status"` // the order's status after the capture: paid, or closed/cancelled
}

func eventOf(p *Payment, o *order.Order) Event {
	e := Event{
		PaymentID: p.ID, OrderID: p.OrderID, BuyerID: p.BuyerID, OutTradeNo: p.OutTradeNo,
		TransactionID: p.TransactionID, Amount: p.Amount, Fee: p.Fee, OrderStatus: o.Status,
	}
	if p.PaidAt != nil {
		e.PaidAt = *p.PaidAt
	}
	return e
}

// jobPayload is the payload of the reconcile job.
type jobPayload struct {
	OutTradeNo string `json:"out_trade_no"`
}
