package affiliate

import (
	"fmt"
	"slices"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

// BindMode is how a buyer's binding may change.
type BindMode string

const (
	// FirstTouch: the first promoter who brought the buyer keeps them.
	FirstTouch BindMode = "first_touch"
	// FirstTouchExpiring: the first promoter keeps them for BindDays; after
	// that, the next promoter's link or code binds them anew.
	FirstTouchExpiring BindMode = "first_touch_expiring"
	// LastTouch: the latest promoter's link or code wins.
	LastTouch BindMode = "last_touch"
)

// BindModes lists the modes.
var BindModes = []BindMode{FirstTouch, FirstTouchExpiring, LastTouch}

// Tier limits (DOMAIN.md, "Distribution"): one tier by default, two
// allowed, three only with the owner's legal sign-off in the audit log.
// There is no fourth: the anti-pyramid-selling rules count three levels as
// the line.
const (
	DefaultTiers  = 1
	FreeTiers     = 2
	MaxTiers      = 3
	MaxChain      = 64 // how far up a cycle check walks; a real chain is far shorter
	defaultShare  = money.BP(3000)
	defaultSettle = 7
)

// Activity kinds a switch exists for: the order's own (group buy,
// bargain) and those of capabilities still to come (flash sale, presale).
const (
	ActivityFlashSale = "flash_sale"
	ActivityPresale   = "presale"
)

// ActivityKinds are the kinds the program has a switch for.
var ActivityKinds = []string{order.ActivityGroupBuy, order.ActivityBargain, ActivityFlashSale, ActivityPresale}

// SignOff is the owner's legal sign-off of a third tier, as the audit log
// recorded it.
type SignOff struct {
	AuditID string    `json:"audit_id"`
	ActorID string    `json:"actor_id"`
	At      time.Time `json:"at"`
}

// Program is the operator's distribution rules. It has no field for an
// entry fee or a qualifying purchase, on purpose: becoming a promoter must
// cost nothing (DOMAIN.md).
type Program struct {
	AutoApprove bool     `json:"auto_approve"`
	Binding     BindMode `json:"binding"`
	BindDays    int      `json:"bind_days"` // FirstTouchExpiring only
	Tiers       int      `json:"tiers"`
	// Rates is the shop's default rate per tier, in bp.
	Rates []money.BP `json:"rates"`
	// MaxShare caps the sum of the tiers' rates on a line: the commissions
	// of an order never exceed this share of what it paid.
	MaxShare     money.BP        `json:"max_share"`
	SelfPurchase bool            `json:"self_purchase"` // a promoter earns on their own orders
	Activities   map[string]bool `json:"activities"`    // which activity orders earn
	SettleDays   int             `json:"settle_days"`   // after receipt, with no open after-sale
	Withdrawals  WithdrawalRules `json:"withdrawals"`
	// TierSignOff is the legal sign-off a third tier needs.
	TierSignOff *SignOff  `json:"tier_signoff,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
	UpdatedBy   string    `json:"updated_by,omitempty"`
}

// WithdrawalRules bound what a promoter may take out.
type WithdrawalRules struct {
	Min         money.Fen `json:"min"`          // per withdrawal
	DailyCount  int       `json:"daily_count"`  // per business day (Asia/Shanghai)
	DailyAmount money.Fen `json:"daily_amount"` // per business day
	// AutoApproveUnder: a withdrawal of at most this much is paid without
	// finance's approval; 0 sends every one to finance.
	AutoApproveUnder money.Fen `json:"auto_approve_under"`
}

// DefaultProgram is the program of a shop whose operator set none: one
// tier at 10%, operator approval, first touch for 30 days, settle 7 days
// after receipt, no commission on activity orders or self-purchases.
// Withdrawals: at least 1 yuan, 3 and 2,000 yuan a day, finance approves
// above 200 yuan (WeChat's transfer needs the payee's real name from 2,000).
func DefaultProgram() Program {
	return Program{
		Binding: FirstTouchExpiring, BindDays: 30, Tiers: DefaultTiers, Rates: []money.BP{1000},
		MaxShare: defaultShare, Activities: map[string]bool{}, SettleDays: defaultSettle,
		Withdrawals: WithdrawalRules{Min: 100, DailyCount: 3, DailyAmount: 200000, AutoApproveUnder: 20000},
	}
}

// Validate checks a program an operator sends. signedOff says whether the
// audit log holds the legal sign-off a third tier needs.
func (p Program) Validate(signedOff bool) error {
	var l errs.List
	if !slices.Contains(BindModes, p.Binding) {
		l.Add("binding", "invalid_binding", "binding must be one of %v", BindModes)
	}
	if p.Binding == FirstTouchExpiring && (p.BindDays < 1 || p.BindDays > 365) {
		l.Add("bind_days", "out_of_range", "bind_days must be 1 to 365 for an expiring binding")
	}
	if p.Binding != FirstTouchExpiring && p.BindDays != 0 {
		l.Add("bind_days", "out_of_range", "bind_days applies to first_touch_expiring only")
	}
	switch {
	case p.Tiers < 1 || p.Tiers > MaxTiers:
		l.Add("tiers", "out_of_range", "tiers must be 1 to %d", MaxTiers)
	case p.Tiers > FreeTiers && !signedOff:
		l.Add("tiers", CodeTierSignOff, "a third tier needs the owner's legal sign-off in the audit log first")
	}
	if p.MaxShare < 1 || p.MaxShare > 5000 {
		l.Add("max_share", "out_of_range", "max_share must be 1 to 5000 bp")
	}
	checkRates(&l, "rates", p.Rates, p.Tiers, p.MaxShare)
	for k := range p.Activities {
		if !slices.Contains(ActivityKinds, k) {
			l.Add("activities", "invalid_activity", "activities are %v", ActivityKinds)
		}
	}
	if p.SettleDays < 1 || p.SettleDays > 90 {
		l.Add("settle_days", "out_of_range", "settle_days must be 1 to 90")
	}
	w := p.Withdrawals
	if w.Min < 10 || w.Min > 20000000 {
		l.Add("withdrawals.min", "out_of_range", "min must be 10 fen (WeChat's least transfer) to 200,000 yuan")
	}
	if w.DailyCount < 1 || w.DailyCount > 100 {
		l.Add("withdrawals.daily_count", "out_of_range", "daily_count must be 1 to 100")
	}
	if w.DailyAmount < w.Min || w.DailyAmount > 100000000 {
		l.Add("withdrawals.daily_amount", "out_of_range", "daily_amount must be at least min and at most 1,000,000 yuan")
	}
	if w.AutoApproveUnder < 0 || w.AutoApproveUnder > w.DailyAmount {
		l.Add("withdrawals.auto_approve_under", "out_of_range", "auto_approve_under must be 0 to daily_amount")
	}
	return l.Err()
}

// checkRates checks one rate list: one per tier at most, each 0 to 10000
// bp, their sum within the cap.
func checkRates(l *errs.List, field string, rates []money.BP, tiers int, cap money.BP) {
	if len(rates) == 0 || len(rates) > MaxTiers {
		l.Add(field, "out_of_range", "%s must list 1 to %d rates, one per tier", field, MaxTiers)
		return
	}
	var sum money.BP
	for i, r := range rates {
		if r < 0 || r > money.Whole {
			l.Add(fmt.Sprintf("%s[%d]", field, i), "out_of_range", "a rate is 0 to 10000 bp")
		}
		if i < tiers {
			sum += r
		}
	}
	if sum > cap {
		l.Add(field, CodeOverShare, "the rates of the tiers add up to %d bp, over the program's cap of %d bp", sum, cap)
	}
}

// Scope is what a rate rule applies to.
type Scope string

const (
	ScopeProduct Scope = "product"
	ScopeSKU     Scope = "sku"
)

// Rule is the rate per tier of one product or SKU, in bp. A SKU's rule
// wins over its product's, which wins over the shop default.
type Rule struct {
	Scope     Scope      `json:"scope"`
	TargetID  string     `json:"target_id"`
	Rates     []money.BP `json:"rates"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Validate checks a rule against the program it will apply under.
func (r Rule) Validate(p Program) error {
	var l errs.List
	if r.Scope != ScopeProduct && r.Scope != ScopeSKU {
		l.Add("scope", "invalid_scope", "scope must be product or sku")
	}
	checkRates(&l, "rates", r.Rates, p.Tiers, p.MaxShare)
	return l.Err()
}

// Rates holds the rules as the computation looks them up.
type Rates struct {
	Default []money.BP
	Product map[string][]money.BP
	SKU     map[string][]money.BP
}

// NewRates indexes the program's default and the rules.
func NewRates(p Program, rules []Rule) Rates {
	r := Rates{Default: p.Rates, Product: map[string][]money.BP{}, SKU: map[string][]money.BP{}}
	for _, x := range rules {
		if x.Scope == ScopeSKU {
			r.SKU[x.TargetID] = x.Rates
		} else {
			r.Product[x.TargetID] = x.Rates
		}
	}
	return r
}

// For returns the rates of one line: its SKU's, its product's, or the
// default.
func (r Rates) For(productID, skuID string) []money.BP {
	if x, ok := r.SKU[skuID]; ok {
		return x
	}
	if x, ok := r.Product[productID]; ok {
		return x
	}
	return r.Default
}
