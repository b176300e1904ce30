package presale

import (
	"errors"

	"github.com/siyu-commerce/siyu/internal/errs"
)

var (
	ErrActivityNotFound = errs.E(errs.NotFound, "presale_not_found", "no such presale")
	ErrOrderNotFound    = errs.E(errs.NotFound, "presale_order_not_found", "no such presale order")
	ErrBadCursor        = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")

	// ErrNotDraft: only a draft is edited or published.
	ErrNotDraft = errs.E(errs.Conflict, "presale_not_draft", "only a draft presale can be changed or published")
	// ErrAlreadyEnded: the presale has ended already.
	ErrAlreadyEnded = errs.E(errs.Conflict, "presale_ended", "the presale has ended")
	// ErrNotOpen: the presale is not published, or outside its selling window.
	ErrNotOpen = errs.E(errs.Conflict, "presale_not_open", "the presale is not selling now")
	// ErrSoldOut: the SKU's quota has fewer units left than asked for.
	ErrSoldOut = errs.E(errs.Conflict, "presale_sold_out", "not enough units of this presale are left")
	// ErrLimitReached: the buyer would hold more units than one buyer may.
	ErrLimitReached = errs.E(errs.Conflict, "presale_limit_reached", "you would hold more units of this presale than one buyer may")
	// ErrBusy: the price step moved under every attempt to buy.
	ErrBusy = errs.E(errs.Conflict, "presale_busy", "the presale's price step is changing; try again")
	// ErrNotInPresale: the SKU is not one the presale sells.
	ErrNotInPresale = errs.Field("sku_id", "sku_not_in_presale", "the presale does not sell this SKU")
	// ErrSKUUnavailable: a SKU of the presale is not on sale.
	ErrSKUUnavailable = errs.Field("items", "sku_unavailable", "every SKU of the presale must be on sale")

	// The balance.
	ErrNoBalance       = errs.E(errs.Conflict, "presale_paid_in_full_mode", "this presale is paid in full: it has no balance")
	ErrDepositUnpaid   = errs.E(errs.Conflict, "presale_deposit_unpaid", "the deposit is not paid")
	ErrBalancePaid     = errs.E(errs.Conflict, "presale_balance_paid", "the balance is paid")
	ErrBalanceWindow   = errs.E(errs.Conflict, "presale_balance_window", "the balance can be paid only in the balance window")
	ErrOrderEnded      = errs.E(errs.Conflict, "presale_order_ended", "this presale order has ended")
	ErrNothingToRefund = errs.E(errs.Conflict, "presale_nothing_to_refund", "nothing of this presale order is paid and not refunded")
)

// ErrStepMoved is a store's refusal of a claim whose units no longer fall
// on the steps it was priced at; the service prices it again.
var ErrStepMoved = errors.New("presale: the units sold moved past the priced step")

// ErrNoop is returned by a change function that has nothing to change.
var ErrNoop = errors.New("presale: nothing to change")
