package bargain

import (
	"errors"

	"github.com/siyu-commerce/siyu/internal/errs"
)

var (
	ErrActivityNotFound = errs.E(errs.NotFound, "bargain_activity_not_found", "no such bargain activity")
	ErrNotFound         = errs.E(errs.NotFound, "bargain_not_found", "no such bargain")
	ErrHelpNotFound     = errs.E(errs.NotFound, "bargain_help_not_found", "no such help")
	ErrBadCursor        = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")

	// ErrNotDraft: only a draft is edited or published.
	ErrNotDraft = errs.E(errs.Conflict, "bargain_activity_not_draft", "only a draft activity can be changed or published")
	// ErrAlreadyEnded: the activity has ended already.
	ErrAlreadyEnded = errs.E(errs.Conflict, "bargain_activity_ended", "the activity has ended")
	// ErrActivityNotOpen: the activity is not published, or outside its window.
	ErrActivityNotOpen = errs.E(errs.Conflict, "bargain_activity_not_open", "the activity is not running now")
	// ErrSoldOut: every unit of the activity's quota is taken.
	ErrSoldOut = errs.E(errs.Conflict, "bargain_sold_out", "every unit of this activity is taken")
	// ErrLimitReached: the buyer opened as many bargains as the activity allows.
	ErrLimitReached = errs.E(errs.Conflict, "bargain_limit_reached", "you have opened as many bargains on this activity as it allows")
	// ErrSKUUnavailable: the activity's goods are not on sale.
	ErrSKUUnavailable = errs.Field("sku_id", "sku_unavailable", "the SKU is not on sale")

	// The help rules, in the order they are checked.
	ErrCannotHelpSelf = errs.E(errs.Forbidden, "cannot_help_self", "you cannot help your own bargain")
	ErrAccountTooNew  = errs.E(errs.Forbidden, "account_too_new", "your account is too new to help bargains; try again later")
	ErrExpired        = errs.E(errs.Conflict, "bargain_expired", "the bargain has expired")
	ErrComplete       = errs.E(errs.Conflict, "bargain_complete", "the bargain has reached its floor: every cut is taken")
	ErrOrdered        = errs.E(errs.Conflict, "bargain_ordered", "the bargain has an order")
	ErrAlreadyHelped  = errs.E(errs.Conflict, "already_helped", "you helped this bargain already")
	ErrDailyCap       = errs.E(errs.TooMany, "helper_daily_cap", "you have helped as many bargains today as one person may")
	ErrRateLimited    = errs.E(errs.TooMany, "rate_limited", "too many helps in a short time; try again in a minute")
	ErrDeviceRequired = &errs.Error{Kind: errs.Invalid, Code: "device_required", Field: "X-Device-Id",
		Message: "a help must name the device it comes from (X-Device-Id, 1 to 128 printable ASCII characters)"}

	// ErrNotHeld: only a held help is approved or rejected.
	ErrNotHeld = errs.E(errs.Conflict, "bargain_help_not_held", "only a held help can be approved or rejected")
	// ErrNotOrderable: the bargain's terms do not allow an order now.
	ErrNotOrderable = errs.E(errs.Conflict, "bargain_not_orderable", "this bargain cannot be ordered now")
)

// ErrNoop is returned by a change function that has nothing to change.
var ErrNoop = errors.New("bargain: nothing to change")
