package pricewindow

import "github.com/siyu-commerce/siyu/internal/errs"

// The errors a client sees.
var (
	ErrNotFound    = errs.E(errs.NotFound, "price_window_not_found", "no such limited-time price")
	ErrSKUNotFound = &errs.Error{Kind: errs.NotFound, Code: "sku_not_found", Field: "sku_id", Message: "no such SKU"}
	// ErrOverlap: the SKU has a window sharing an instant with the new one.
	ErrOverlap = &errs.Error{Kind: errs.Conflict, Code: "price_window_overlap", Field: "starts_at",
		Message: "the SKU has a limited-time price in part of this time already"}
	// ErrRecentRaise: the sale price rose in the 7 days before the window
	// would start; a discount from a price just raised is a false one
	// (DOMAIN.md "Prices": no price raise just before a discount).
	ErrRecentRaise = &errs.Error{Kind: errs.Conflict, Code: "sale_price_recently_raised", Field: "starts_at",
		Message: "the SKU's sale price was raised in the 7 days before this window would start"}
	// ErrRaiseBeforeDiscount: the other side of ErrRecentRaise, a catalog
	// update raising a sale price with a window starting within 7 days.
	ErrRaiseBeforeDiscount = errs.E(errs.Conflict, "price_raise_before_discount",
		"a limited-time price of this SKU starts within 7 days: its sale price may not rise before it")
	ErrNotStarted = errs.E(errs.Conflict, "price_window_not_started",
		"the limited-time price has not started: delete it instead of ending it")
	ErrStarted = errs.E(errs.Conflict, "price_window_started",
		"the limited-time price has started: end it instead of deleting it")
	ErrBadCursor = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")
)
