package order

import (
	"fmt"

	"github.com/siyu-commerce/siyu/internal/errs"
)

var (
	ErrNotFound  = errs.E(errs.NotFound, "order_not_found", "no such order")
	ErrNoLines   = errs.Field("lines", "no_lines", "an order needs at least one line")
	ErrEmptyCart = errs.E(errs.Conflict, "cart_empty", "the cart is empty")
	ErrBadCursor = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")
	// ErrHeld: the order waits for its activity (a team still forming).
	ErrHeld = errs.E(errs.Conflict, "order_held", "the order waits for its group buy team to fill before it can ship")
)

// ErrBadTransition is the error for a move the state machine does not allow.
func ErrBadTransition(from, to Status) error {
	return errs.E(errs.Conflict, "invalid_state", "an order that is %s cannot become %s", from, to)
}

// lineChanged reports a cart line whose price or availability changed since
// the buyer saw it; field names the SKU so the client can point at the line.
func lineChanged(skuID, code, format string, args ...any) error {
	return &errs.Error{Kind: errs.Conflict, Code: code, Field: "lines[" + skuID + "]", Message: fmt.Sprintf(format, args...)}
}
