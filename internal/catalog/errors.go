package catalog

import "github.com/siyu-commerce/siyu/internal/errs"

var (
	ErrNotFound         = errs.E(errs.NotFound, "product_not_found", "no such product")
	ErrCategoryNotFound = errs.E(errs.NotFound, "category_not_found", "no such category")
	ErrSKUNotFound      = errs.E(errs.NotFound, "sku_not_found", "no such SKU")
	ErrBadCursor        = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")
)
