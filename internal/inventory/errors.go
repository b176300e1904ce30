package inventory

import "github.com/siyu-commerce/siyu/internal/errs"

var (
	// ErrOutOfStock: not enough available units. Stores return it wrapped in
	// an *errs.Error whose Field names the SKU.
	ErrOutOfStock = errs.E(errs.Conflict, "out_of_stock", "not enough stock")
	// ErrBelowReserved: an adjustment would leave fewer units than are reserved.
	// ErrSKUNotFound has the catalog's code: to a client it is one error.
	ErrSKUNotFound   = errs.E(errs.NotFound, "sku_not_found", "no such SKU")
	ErrBelowReserved = errs.E(errs.Conflict, "stock_below_reserved", "on hand cannot go below what is reserved")
)

// OutOfStock returns the out-of-stock error for one SKU.
func OutOfStock(skuID string) error {
	return &errs.Error{Kind: errs.Conflict, Code: "out_of_stock", Field: skuID, Message: "not enough stock for SKU " + skuID}
}
