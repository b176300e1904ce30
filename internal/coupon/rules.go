package coupon

import (
	"slices"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Bounds of a template, so a typo cannot issue a coupon worth more than
// any order or valid for ever.
const (
	MaxOff       = money.Fen(10_000_000) // 100,000 yuan
	MaxValidDays = 366
	MaxQuantity  = 10_000_000
	MaxPerBuyer  = 100
	MaxScopeIDs  = 200
	MaxNameLen   = 60
	MaxIssue     = 500 // buyers named in one recall issue
)

// NewTemplate is an operator's request for a template.
type NewTemplate struct {
	Terms
	ValidFrom  *time.Time
	ValidUntil *time.Time
	ValidDays  int
	PerBuyer   int
	Quantity   int64
	Budget     money.Fen
	Mode       Mode
}

// check collects every field error of in.
func (in NewTemplate) check(now time.Time) error {
	var l errs.List
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > MaxNameLen {
		l.Add("name", "invalid_name", "name must be 1 to %d characters", MaxNameLen)
	}
	switch in.Kind {
	case Fixed:
		checkFen(&l, "off", in.Off, 1)
	case Threshold:
		checkFen(&l, "off", in.Off, 1)
		checkFen(&l, "min_spend", in.MinSpend, 1)
		if in.Off > 0 && in.MinSpend > 0 && in.Off >= in.MinSpend {
			l.Add("off", "off_not_below_threshold", "a threshold coupon saves less than the spend it needs")
		}
	case Percent:
		if in.Rate < 1 || in.Rate >= money.Whole {
			l.Add("rate_bp", "rate_out_of_range", "rate_bp must be 1 to %d", money.Whole-1)
		}
		checkFen(&l, "cap", in.Cap, 1)
	case FreeShipping:
	default:
		l.Add("kind", "invalid_kind", "kind must be one of %v", Kinds)
	}
	if in.Kind != Fixed && in.Kind != Threshold && in.Off != 0 {
		l.Add("off", "not_for_kind", "off is for fixed and threshold coupons")
	}
	if in.Kind != Percent && (in.Rate != 0 || in.Cap != 0) {
		l.Add("rate_bp", "not_for_kind", "rate_bp and cap are for percent coupons")
	}
	if in.Kind != Threshold && in.MinSpend != 0 {
		checkFen(&l, "min_spend", in.MinSpend, 0)
	}
	in.checkScope(&l)
	switch {
	case in.ValidDays != 0 && (in.ValidFrom != nil || in.ValidUntil != nil):
		l.Add("valid_days", "conflicting_fields", "give a validity window or valid_days, not both")
	case in.ValidDays != 0:
		if in.ValidDays < 1 || in.ValidDays > MaxValidDays {
			l.Add("valid_days", "valid_days_out_of_range", "valid_days must be 1 to %d", MaxValidDays)
		}
	case in.ValidFrom == nil || in.ValidUntil == nil:
		l.Add("valid_until", "required", "give a validity window (valid_from, valid_until) or valid_days")
	case !in.ValidUntil.After(*in.ValidFrom):
		l.Add("valid_until", "invalid_window", "valid_until must be after valid_from")
	case !in.ValidUntil.After(now):
		l.Add("valid_until", "window_over", "valid_until is already past")
	case in.ValidUntil.Sub(*in.ValidFrom) > MaxValidDays*24*time.Hour:
		l.Add("valid_until", "window_too_long", "a coupon is valid for at most %d days", MaxValidDays)
	}
	if in.PerBuyer < 1 || in.PerBuyer > MaxPerBuyer {
		l.Add("per_buyer_limit", "per_buyer_limit_out_of_range", "per_buyer_limit must be 1 to %d", MaxPerBuyer)
	}
	if in.Quantity < 1 || in.Quantity > MaxQuantity {
		l.Add("quantity", "quantity_out_of_range", "quantity must be 1 to %d", MaxQuantity)
	}
	if in.Budget < 0 || in.Budget > MaxOff*MaxQuantity {
		l.Add("budget", "budget_out_of_range", "budget must be 0 (none) or a positive amount in fen")
	}
	if !slices.Contains(Modes, in.Mode) {
		l.Add("issue_mode", "invalid_issue_mode", "issue_mode must be one of %v", Modes)
	}
	return l.Err()
}

func (in NewTemplate) checkScope(l *errs.List) {
	switch in.Scope {
	case All:
		if len(in.ScopeIDs) > 0 {
			l.Add("scope_ids", "not_for_scope", "scope all names no ids")
		}
		return
	case Category, Product, SKU:
	default:
		l.Add("scope", "invalid_scope", "scope must be one of %v", Scopes)
		return
	}
	if len(in.ScopeIDs) == 0 || len(in.ScopeIDs) > MaxScopeIDs {
		l.Add("scope_ids", "scope_ids_out_of_range", "name 1 to %d ids for scope %s", MaxScopeIDs, in.Scope)
	}
	seen := map[string]bool{}
	for _, id := range in.ScopeIDs {
		if !ids.Valid(id) || seen[id] {
			l.Add("scope_ids", "invalid_id", "scope_ids must be distinct ids")
			return
		}
		seen[id] = true
	}
}

func checkFen(l *errs.List, field string, v, least money.Fen) {
	if v < least || v > MaxOff {
		l.Add(field, field+"_out_of_range", "%s must be %d to %d fen", field, least, MaxOff)
	}
}
