package share

import "github.com/siyu-commerce/siyu/internal/errs"

var (
	// ErrTokenInvalid: the token is not one this shop signed, or was
	// changed. The same answer for every cause, so a forger learns nothing.
	ErrTokenInvalid = errs.Field("token", "share_token_invalid", "the share link is not valid")
	// ErrParentInvalid is ErrTokenInvalid for the parent of a new share.
	ErrParentInvalid = errs.Field("parent_token", "share_token_invalid", "the share link is not valid")
	// ErrDepthExceeded: the chain is already MaxDepth long.
	ErrDepthExceeded = &errs.Error{Kind: errs.Conflict, Code: "share_depth_exceeded", Field: "parent_token",
		Message: "this link has been passed on 3 times already and cannot be shared further"}
	ErrNotFound     = errs.E(errs.NotFound, "share_not_found", "no such share")
	ErrNotCredited  = errs.E(errs.NotFound, "share_credit_not_found", "the order is credited to no share")
	ErrTargetAbsent = errs.Field("target_id", "share_target_not_found", "there is nothing to share under this id")
	// ErrTooManyVisits: a visitor opening links faster than a person does.
	ErrTooManyVisits = errs.E(errs.TooMany, "rate_limited", "too many share links opened; try again later")
)
