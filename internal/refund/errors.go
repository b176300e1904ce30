package refund

import (
	"errors"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// Error codes of the refund domain, stable for clients.
const (
	CodeExceedsPaid      = "refund_exceeds_paid"
	CodeExceedsQty       = "refund_exceeds_qty"
	CodeLimitReached     = "refund_limit_reached"
	CodeWindowOver       = "refund_window_over"
	CodeZeroAmount       = "refund_zero_amount"
	CodeNotPaid          = "refund_order_not_paid"
	CodeNotFound         = "refund_not_found"
	CodeInvalidState     = "refund_invalid_state"
	CodeResultMismatch   = "refund_result_mismatch"
	CodeAfterSaleFound   = "aftersale_not_found"
	CodeAfterSaleOpen    = "aftersale_open"
	CodeAfterSaleState   = "aftersale_invalid_state"
	CodeAfterSaleOrder   = "aftersale_order_not_eligible"
	CodeReturnNotShipped = "aftersale_return_not_shipped"
	CodeInvalidCursor    = "invalid_cursor"
)

var (
	// ErrExceedsPaid: the refund would take more than the order has left
	// paid (DESIGN.md invariant 3).
	ErrExceedsPaid = errs.E(errs.Conflict, CodeExceedsPaid, "the refund exceeds what is left of the payment")
	// ErrLimitReached: the order has had MaxRefunds refunds.
	ErrLimitReached = errs.E(errs.Conflict, CodeLimitReached, "the order has had the most refunds the payment platform allows")
	// ErrWindowOver: the payment is older than Window.
	ErrWindowOver = errs.E(errs.Conflict, CodeWindowOver, "the payment is too old to refund (365 days)")
	// ErrZeroAmount: the units asked for cost nothing (a free gift line):
	// the platform refunds at least 1 fen.
	ErrZeroAmount = errs.E(errs.Conflict, CodeZeroAmount, "there is no money to refund for those units")
	// ErrNotPaid: the order has no captured payment to refund from.
	ErrNotPaid = errs.E(errs.Conflict, CodeNotPaid, "the order has no payment to refund")

	ErrNotFound          = errs.E(errs.NotFound, CodeNotFound, "no such refund")
	ErrAfterSaleNotFound = errs.E(errs.NotFound, CodeAfterSaleFound, "no such after-sale")
	// ErrAfterSaleOpen: a line of the request has an after-sale open already.
	ErrAfterSaleOpen = errs.E(errs.Conflict, CodeAfterSaleOpen, "a line of the order has an after-sale in progress")
	// ErrOrderNotEligible: after-sales are for orders paid and not ended.
	ErrOrderNotEligible = errs.E(errs.Conflict, CodeAfterSaleOrder, "after-sales are for paid orders")
	// ErrReturnNotShipped: nothing was shipped, so nothing can come back;
	// the buyer asks for a refund only.
	ErrReturnNotShipped = errs.Field("kind", CodeReturnNotShipped, "the order has not shipped: ask for a refund only")
	// ErrResultMismatch: the platform's word names another payment or
	// amount than the refund we recorded; nothing is applied, and an
	// operator is alarmed.
	ErrResultMismatch = errs.E(errs.Unprocessable, CodeResultMismatch, "the platform's refund result does not match the refund")
	ErrBadCursor      = errs.Field("cursor", CodeInvalidCursor, "the cursor is not one this listing returned")
)

// ErrNoop is returned by an UpdateRefund or UpdateAfterSale closure that has
// nothing to change; stores treat it as success, write nothing and return
// the object as it is.
var ErrNoop = errors.New("refund: nothing to change")

func badRefundState(s State, action string) error {
	return errs.E(errs.Conflict, CodeInvalidState, "a refund that is %s cannot be %s", s, action)
}

func badAfterSaleState(s AfterSaleState, action string) error {
	return errs.E(errs.Conflict, CodeAfterSaleState, "an after-sale that is %s cannot be %s", s, action)
}
