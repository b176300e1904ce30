package presale

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// Bounds of a presale's fields. The 3-day window, the deposit's 20% and
// rising steps are the compliance lint's to enforce at publishing
// (compliance.Presale), so a draft may hold what it refuses.
const (
	MaxTitle       = 100
	MaxRules       = 5000
	MaxShareNotice = 200
	MaxItems       = 20
	MaxSteps       = 10
	MaxQuota       = 1_000_000
	MaxBuyerLimit  = 100
	MaxDepthField  = 10
	MaxPrice       = money.Fen(100_000_000) // 1,000,000 yuan
	// MaxBalanceWindow bounds the balance window, MaxShipAfter how long
	// after the last payment the goods may be promised: a presale is
	// small-batch fast response, not a season's pre-order book.
	MaxBalanceWindow = 30 * 24 * time.Hour
	MaxShipAfter     = 90 * 24 * time.Hour
	MaxRemark        = 200
)

// Defaults of the optional fields.
const (
	DefaultBuyerLimit = 5
	DefaultDepth      = 3
)

// ActivityInput is an operator's presale, as sent. The pointer fields are
// optional: nil takes the default.
type ActivityInput struct {
	Title, Rules, ShareNotice      string
	Mode                           Mode
	Basis                          Basis
	StartsAt, EndsAt               time.Time
	BalanceStartsAt, BalanceEndsAt *time.Time
	ShipsBy                        time.Time
	PerBuyerLimit                  *int
	MaxDepth                       *int
	Items                          []ItemInput
}

// ItemInput is one SKU of the presale, as sent.
type ItemInput struct {
	SKUID   string
	Quota   int
	Deposit money.Fen
	Steps   []Step
}

// terms checks in against the rules and the SKUs it names (those that
// exist, by id) and returns the activity it sets, reporting every field
// error at once.
func terms(in ActivityInput, skus map[string]catalog.SKUWithProduct) (Activity, error) {
	var l errs.List
	text := func(field, s string, min, max int) string {
		s = strings.TrimSpace(s)
		if n := utf8.RuneCountInString(s); !utf8.ValidString(s) || n < min || n > max {
			l.Add(field, "invalid_text", "%s must be %d to %d characters", field, min, max)
		}
		return s
	}
	intIn := func(field string, v *int, def, min, max int) int {
		if v == nil {
			return def
		}
		if *v < min || *v > max {
			l.Add(field, "out_of_range", "%s must be from %d to %d", field, min, max)
		}
		return *v
	}
	a := Activity{
		Title: text("title", in.Title, 1, MaxTitle), Rules: text("rules", in.Rules, 0, MaxRules),
		ShareNotice: text("share_notice", in.ShareNotice, 0, MaxShareNotice),
		Mode:        in.Mode, Basis: in.Basis,
		StartsAt: in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(), ShipsBy: in.ShipsBy.UTC(),
		PerBuyerLimit: intIn("per_buyer_limit", in.PerBuyerLimit, DefaultBuyerLimit, 1, MaxBuyerLimit),
		MaxDepth:      intIn("max_depth", in.MaxDepth, DefaultDepth, 1, MaxDepthField),
	}
	if a.Basis == "" {
		a.Basis = ByUnits
	}
	if a.Basis != ByUnits && a.Basis != ByTime {
		l.Add("basis", "invalid_basis", "basis is units or time")
	}
	windows(&l, &a, in)
	if n := len(in.Items); n < 1 || n > MaxItems {
		l.Add("items", "out_of_range", "a presale sells 1 to %d SKUs", MaxItems)
	}
	seen := map[string]bool{}
	for i, it := range in.Items {
		field := fmt.Sprintf("items[%d]", i)
		if seen[it.SKUID] {
			l.Add(field+".sku_id", "duplicate_sku", "SKU %s is in the presale twice", it.SKUID)
		}
		seen[it.SKUID] = true
		a.Items = append(a.Items, item(&l, field, a, it, skus))
	}
	return a, l.Err()
}

// windows checks the selling window, the balance window (deposit mode
// only) and the promised shipping date.
func windows(l *errs.List, a *Activity, in ActivityInput) {
	if in.StartsAt.IsZero() {
		l.Add("starts_at", "required", "starts_at is required")
	}
	switch {
	case in.EndsAt.IsZero():
		l.Add("ends_at", "required", "ends_at is required")
	case !in.EndsAt.After(in.StartsAt):
		l.Add("ends_at", "invalid_window", "ends_at must be after starts_at")
	}
	lastPay := a.EndsAt
	switch a.Mode {
	case Full:
		if in.BalanceStartsAt != nil || in.BalanceEndsAt != nil {
			l.Add("balance_starts_at", "no_balance_in_full_mode", "a presale paid in full has no balance window")
		}
	case Deposit:
		bs, be := in.BalanceStartsAt, in.BalanceEndsAt
		switch {
		case bs == nil:
			l.Add("balance_starts_at", "required", "a deposit presale needs balance_starts_at")
		case bs.Before(in.EndsAt):
			// The balance is the price of units whose count, and so whose
			// price, is final only once the selling has ended.
			l.Add("balance_starts_at", "invalid_window", "the balance window opens when the selling ends, or later")
		}
		switch {
		case be == nil:
			l.Add("balance_ends_at", "required", "a deposit presale needs balance_ends_at")
		case bs != nil && !be.After(*bs):
			l.Add("balance_ends_at", "invalid_window", "balance_ends_at must be after balance_starts_at")
		case bs != nil && be.Sub(*bs) > MaxBalanceWindow:
			l.Add("balance_ends_at", "invalid_window", "the balance window lasts at most %d days", int(MaxBalanceWindow.Hours()/24))
		}
		if bs != nil && be != nil {
			s, e := bs.UTC(), be.UTC()
			a.BalanceStartsAt, a.BalanceEndsAt, lastPay = &s, &e, e
		}
	default:
		l.Add("mode", "invalid_mode", "mode is full or deposit")
	}
	switch {
	case in.ShipsBy.IsZero():
		l.Add("ships_by", "required", "ships_by, the promised shipping date, is required")
	case in.ShipsBy.Before(lastPay):
		l.Add("ships_by", "invalid_window", "the goods ship after the last payment can be made")
	case in.ShipsBy.Sub(lastPay) > MaxShipAfter:
		l.Add("ships_by", "invalid_window", "ships_by is at most %d days after the last payment", int(MaxShipAfter.Hours()/24))
	}
}

// item checks one SKU of the presale.
func item(l *errs.List, field string, a Activity, in ItemInput, skus map[string]catalog.SKUWithProduct) Item {
	it := Item{SKUID: in.SKUID, Quota: in.Quota, Deposit: in.Deposit, Steps: append([]Step(nil), in.Steps...)}
	sp, found := skus[in.SKUID]
	if !found {
		l.Add(field+".sku_id", "sku_not_found", "no such SKU")
	}
	if in.Quota < 1 || in.Quota > MaxQuota {
		l.Add(field+".quota", "out_of_range", "quota must be from 1 to %d units", MaxQuota)
	}
	if n := len(in.Steps); n < 1 || n > MaxSteps {
		l.Add(field+".steps", "out_of_range", "a SKU has 1 to %d price steps", MaxSteps)
		return it
	}
	lowest := MaxPrice
	for i, st := range in.Steps {
		sf := fmt.Sprintf("%s.steps[%d]", field, i)
		switch {
		case st.Price < 1 || st.Price > MaxPrice:
			l.Add(sf+".price", "out_of_range", "price must be from 1 to %d fen", MaxPrice)
		case found && st.Price > sp.SKU.ListPrice:
			l.Add(sf+".price", "over_list_price", "price must be at most the SKU's list price, %d fen", sp.SKU.ListPrice)
		}
		lowest = min(lowest, st.Price)
		if a.Basis == ByTime {
			it.Steps[i] = timeStep(l, sf, a, in.Steps, i)
		} else {
			unitStep(l, sf, in.Steps, i, in.Quota)
		}
	}
	switch {
	case a.Mode == Full && in.Deposit != 0:
		l.Add(field+".deposit", "no_deposit_in_full_mode", "a presale paid in full takes no deposit")
	case a.Mode == Deposit && (in.Deposit < 1 || in.Deposit >= lowest):
		l.Add(field+".deposit", "out_of_range", "deposit must be at least 1 fen and below the lowest step's price")
	}
	return it
}

// unitStep checks step i of a schedule by units sold.
func unitStep(l *errs.List, sf string, steps []Step, i, quota int) {
	st := steps[i]
	if st.FromTime != nil {
		l.Add(sf+".from_time", "wrong_basis", "a presale by units names steps by from_unit")
	}
	switch {
	case i == 0 && st.FromUnit != 1:
		l.Add(sf+".from_unit", "invalid_step", "the first step starts at unit 1")
	case i > 0 && st.FromUnit <= steps[i-1].FromUnit:
		l.Add(sf+".from_unit", "invalid_step", "each step starts at a later unit than the one before")
	case i > 0 && st.FromUnit > quota:
		l.Add(sf+".from_unit", "invalid_step", "a step starts within the quota, at unit %d at most", quota)
	}
}

// timeStep checks step i of a schedule by time and returns it in UTC.
func timeStep(l *errs.List, sf string, a Activity, steps []Step, i int) Step {
	st := steps[i]
	if st.FromUnit != 0 {
		l.Add(sf+".from_unit", "wrong_basis", "a presale by time names steps by from_time")
	}
	if st.FromTime == nil {
		l.Add(sf+".from_time", "required", "a step of a presale by time needs from_time")
		return st
	}
	t := st.FromTime.UTC()
	st.FromTime = &t
	switch {
	case i == 0 && !t.Equal(a.StartsAt):
		l.Add(sf+".from_time", "invalid_step", "the first step starts when the presale starts")
	case i > 0 && (steps[i-1].FromTime == nil || !t.After(*steps[i-1].FromTime)):
		l.Add(sf+".from_time", "invalid_step", "each step starts later than the one before")
	case i > 0 && !t.Before(a.EndsAt):
		l.Add(sf+".from_time", "invalid_step", "a step starts before the presale ends")
	}
	return st
}
