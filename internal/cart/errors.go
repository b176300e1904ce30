package cart

import "github.com/siyu-commerce/siyu/internal/errs"

var (
	ErrCartFull    = errs.E(errs.Conflict, "cart_full", "the cart holds the most lines it can")
	ErrQtyTooLarge = errs.Field("qty", "qty_out_of_range", "a line holds at most %d units", MaxQty)
	ErrLineMissing = errs.E(errs.NotFound, "cart_line_not_found", "that SKU is not in the cart")
	// ErrNotOnSale shares its code with the order's refusal of a SKU no
	// longer on sale, so a client handles both the same way.
	ErrNotOnSale = errs.E(errs.Conflict, "product_unavailable", "that product is not on sale")
)
