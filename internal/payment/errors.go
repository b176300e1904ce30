package payment

import (
	"errors"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// Error codes of the payment domain, stable for clients and the callback
// handler.
const (
	CodeNotFound       = "payment_not_found"
	CodeExists         = "payment_exists"
	CodeAmountMismatch = "payment_amount_mismatch"
	CodeNotSuccess     = "payment_not_successful"
	CodeNotPayable     = "order_not_payable"
	CodeTradeNotFound  = "trade_not_found"
	CodeTradePaid      = "trade_paid"
)

var (
	ErrNotFound = errs.E(errs.NotFound, CodeNotFound, "no such payment")
	ErrExists   = errs.E(errs.Conflict, CodeExists, "the order has a payment already")
	// ErrAmountMismatch refuses a success whose amount is not the order's:
	// it is never captured, the callback is answered with a failure so the
	// platform retries, and an operator is alarmed.
	ErrAmountMismatch = errs.E(errs.Unprocessable, CodeAmountMismatch, "the amount paid does not match the order")
	ErrNotSuccess     = errs.E(errs.Invalid, CodeNotSuccess, "only a successful transaction can be captured")

	// ErrTradeNotFound and ErrTradePaid are the platform answers a Gateway
	// reports by code (see Gateway); implementations may return these or
	// their own errors with the same codes and their cause wrapped.
	ErrTradeNotFound = errs.E(errs.NotFound, CodeTradeNotFound, "the payment platform has no such transaction")
	ErrTradePaid     = errs.E(errs.Conflict, CodeTradePaid, "the payment platform says the transaction is paid")
)

// ErrNoop is returned by an UpdatePayment closure that has nothing to
// change; stores treat it as success, write nothing and return the payment
// as it is.
var ErrNoop = errors.New("payment: nothing to change")

// notPayable refuses to start paying an order in a state that cannot be paid.
func notPayable(format string, args ...any) error {
	return errs.E(errs.Conflict, CodeNotPayable, format, args...)
}
