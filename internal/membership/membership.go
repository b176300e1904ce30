// Package membership owns member tiers (会员等级): a buyer's growth value,
// what they paid less what was refunded to them over a sliding window; the
// tiers an operator defines by threshold, each with its benefits (a
// discount in basis points on eligible products, free shipping, dedicated
// service, early access to new products); and the buyer's current tier,
// whose every change is an outbox event written with it.
//
// A tier's discount is a published condition any buyer who meets it gets,
// like a coupon they hold: it is applied at checkout, never to the shelf
// price, so a displayed price does not depend on who is looking (DOMAIN.md,
// "Prices").
package membership

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// Tier is one level and its benefits.
type Tier struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Threshold money.Fen `json:"threshold"` // the growth value that reaches it
	// DiscountBP comes off the goods of Products (all goods when empty) at
	// checkout.
	DiscountBP       money.BP `json:"discount_bp"`
	Products         []string `json:"product_ids"`
	FreeShipping     bool     `json:"free_shipping"`
	DedicatedService bool     `json:"dedicated_service"`
	EarlyAccess      bool     `json:"early_access"`
}

// Program is the operator's tiers, lowest first (the first at threshold
// 0), and the window growth is counted over.
type Program struct {
	WindowDays int    `json:"window_days"`
	Tiers      []Tier `json:"tiers"`
}

// DefaultProgram: growth over 365 days; the loyal layer's 5000 yuan
// (DOMAIN.md, module 1) earns its play, dedicated service and early
// access. No tier takes money off by default: a discount changes what
// buyers pay, so it is the operator's to set, never a shop's silent
// default.
var DefaultProgram = Program{WindowDays: 365, Tiers: []Tier{
	{Code: "member", Name: "会员", Products: []string{}},
	{Code: "silver", Name: "银卡", Threshold: 100000, Products: []string{}},
	{Code: "gold", Name: "金卡", Threshold: 500000, Products: []string{}, DedicatedService: true, EarlyAccess: true},
}}

// TierFor is the highest tier growth reaches.
func (p Program) TierFor(growth money.Fen) Tier {
	t := p.Tiers[0]
	for _, x := range p.Tiers {
		if growth >= x.Threshold {
			t = x
		}
	}
	return t
}

// Rank is the tier's place, lowest 0; -1 for a code not in p.
func (p Program) Rank(code string) int {
	for i, t := range p.Tiers {
		if t.Code == code {
			return i
		}
	}
	return -1
}

// Member is a buyer's standing.
type Member struct {
	BuyerID   string    `json:"-"`
	Tier      Tier      `json:"tier"`
	Growth    money.Fen `json:"growth"`
	Next      *Tier     `json:"next,omitempty"` // the tier above, if any
	UpdatedAt time.Time `json:"updated_at"`
}

// TopicTierChanged is the event of a tier change, keyed by the buyer.
const TopicTierChanged = "membership.tier_changed"

// TierChanged is its payload.
type TierChanged struct {
	BuyerID   string    `json:"buyer_id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Direction string    `json:"direction"` // "up" or "down"
	Growth    money.Fen `json:"growth"`
	At        time.Time `json:"at"`
}

// Store keeps growth entries, the program and each buyer's tier.
type Store interface {
	MembershipProgram(ctx context.Context) (Program, error)
	SetMembershipProgram(ctx context.Context, p Program, at time.Time) error
	// AddGrowth records an entry once per key, and only if an entry keyed
	// requires exists ("" requires nothing); false when it records nothing.
	AddGrowth(ctx context.Context, key, requires, buyerID string, amount money.Fen, at time.Time) (bool, error)
	// Growth sums the buyer's entries after since (never below 0).
	Growth(ctx context.Context, buyerID string, since time.Time) (money.Fen, error)
	// MemberTier is the buyer's stored tier code ("" when none).
	MemberTier(ctx context.Context, buyerID string) (string, error)
	// SetMemberTier moves the buyer from tier from to tier to, with ev,
	// only if the stored tier is still from; false if it moved meanwhile.
	SetMemberTier(ctx context.Context, buyerID, from, to string, growth money.Fen, at time.Time, ev *outbox.Event) (bool, error)
	// MembersAbove lists buyers (after afterID, in id order) whose tier is
	// not code, the lowest: the ones a sliding window may move down.
	MembersAbove(ctx context.Context, code, afterID string, limit int) ([]string, error)
}
