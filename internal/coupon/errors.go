package coupon

import "github.com/siyu-commerce/siyu/internal/errs"

// The coupon errors a client sees.
var (
	ErrTemplateNotFound = errs.E(errs.NotFound, "coupon_template_not_found", "no such coupon template")
	ErrNotFound         = &errs.Error{Kind: errs.NotFound, Code: "coupon_not_found", Field: "coupon_ids", Message: "no such coupon"}
	ErrSoldOut          = errs.E(errs.Conflict, "coupon_sold_out", "no coupons of this kind are left")
	ErrLimitReached     = errs.E(errs.Conflict, "coupon_limit_reached", "you hold as many of these coupons as one buyer may")
	ErrNotNewUser       = errs.E(errs.Forbidden, "coupon_new_users_only", "this coupon is for buyers placing their first order")
	ErrTemplateEnded    = errs.E(errs.Conflict, "coupon_template_ended", "this coupon is no longer issued")
	ErrClaimOver        = errs.E(errs.Conflict, "coupon_claim_over", "this coupon's validity is over")
	ErrNotClaimable     = errs.E(errs.Forbidden, "coupon_not_claimable", "this coupon is issued by the shop, not claimed")
	ErrNotRecall        = errs.E(errs.Conflict, "coupon_not_issuable", "only a recall template's coupons are issued to buyers")
	ErrUnavailable      = &errs.Error{Kind: errs.Conflict, Code: "coupon_unavailable", Field: "coupon_ids", Message: "the coupon is used or has expired"}
	ErrExpired          = &errs.Error{Kind: errs.Conflict, Code: "coupon_expired", Field: "coupon_ids", Message: "the coupon has expired"}
	ErrNotYetValid      = &errs.Error{Kind: errs.Conflict, Code: "coupon_not_yet_valid", Field: "coupon_ids", Message: "the coupon is not valid yet"}
	ErrBudgetExhausted  = &errs.Error{Kind: errs.Conflict, Code: "coupon_budget_exhausted", Field: "coupon_ids", Message: "this coupon's budget is spent"}
	ErrStacking         = &errs.Error{Kind: errs.Invalid, Code: "coupon_stacking", Field: "coupon_ids", Message: "an order takes at most one discount coupon and one free-shipping coupon"}
	ErrBadCursor        = errs.Field("cursor", "invalid_cursor", "the cursor is not valid")
	// ErrIssued: a coupon was issued with the claim's key already.
	ErrIssued = errs.E(errs.Conflict, "coupon_already_issued", "this coupon was issued already")
)
