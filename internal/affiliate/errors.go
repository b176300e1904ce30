package affiliate

import (
	"errors"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// Codes clients switch on.
const (
	CodeTierSignOff = "affiliate_tier_signoff_required"
	CodeOverShare   = "affiliate_rates_over_share"
)

var (
	ErrNoProgram       = errs.E(errs.NotFound, "affiliate_program_not_found", "no distribution program saved")
	ErrRuleNotFound    = errs.E(errs.NotFound, "affiliate_rule_not_found", "no such commission rule")
	ErrNotPromoter     = errs.E(errs.NotFound, "affiliate_promoter_not_found", "no such promoter")
	ErrAlreadyPromoter = errs.E(errs.Conflict, "affiliate_already_applied", "this buyer has applied already")
	ErrCodeTaken       = errs.E(errs.Conflict, "affiliate_code_taken", "the invite code is in use")
	ErrNotApproved     = errs.E(errs.Conflict, "affiliate_not_approved", "the promoter is not approved")
	ErrDecided         = errs.E(errs.Conflict, "affiliate_already_decided", "the application was decided already")
	ErrNotBound        = errs.E(errs.NotFound, "affiliate_not_bound", "the buyer is bound to no promoter")
	ErrBadCode         = errs.Field("invite_code", "affiliate_invite_code_invalid", "no promoter has this invite code")
	ErrSelfBinding     = errs.E(errs.Conflict, "affiliate_self_binding", "a buyer cannot be bound to themselves")
	ErrCycle           = errs.E(errs.Conflict, "affiliate_binding_cycle", "this binding would close a cycle of promoters")
	ErrNoSale          = errs.E(errs.NotFound, "affiliate_sale_not_found", "the order earns no commission")
	ErrBadCursor       = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")
	ErrForbidden       = errs.E(errs.Forbidden, "forbidden", "only the owner may sign off a third tier")

	ErrWithdrawalNotFound = errs.E(errs.NotFound, "affiliate_withdrawal_not_found", "no such withdrawal")
	ErrWithdrawalState    = errs.E(errs.Conflict, "affiliate_withdrawal_state", "the withdrawal cannot do that in its state")
	ErrBelowMin           = errs.Field("amount", "affiliate_withdrawal_below_min", "the amount is below the least withdrawal")
	ErrOverBalance        = errs.Field("amount", "affiliate_insufficient_balance", "the amount is more than the available balance")
	ErrDailyCount         = errs.E(errs.Conflict, "affiliate_withdrawal_daily_count", "no more withdrawals today")
	ErrDailyAmount        = errs.Field("amount", "affiliate_withdrawal_daily_amount", "the amount is over what may be withdrawn today")

	// ErrNoop is returned by an update closure with nothing to change;
	// stores write nothing and return the object as it is.
	ErrNoop = errors.New("affiliate: nothing to change")
)
