// Package affiliate owns distribution (分销): promoters, who brought whom
// (bindings), the commission a promoter earns on the real sales of the
// buyers they brought, its settlement, reversal and clawback, and the
// withdrawal of what was earned to the promoter's WeChat wallet.
//
// The compliance lines are DOMAIN.md's ("Compliance lines", "Distribution")
// and DESIGN.md's invariant 5, built in rather than left to configuration:
// becoming a promoter costs nothing and needs no purchase (there is no field
// anywhere to configure either); commission is paid on real sales only,
// after they settle; nothing is paid for recruiting and nothing on a team's
// volume; one tier by default, two allowed, a third only once the owner's
// legal sign-off is in the audit log; the referral graph has no cycles.
//
// Every fen is on the ledger (see docs/affiliate.md for the chart):
//
//	order paid        "commission:<order>"           Dr expense:commission   / Cr commission:pending
//	refund, pending   "commission_reversal:<refund>" Dr commission:pending   / Cr expense:commission
//	settled           "commission_settle:<batch>"    Dr commission:pending   / Cr promoter:<id> ...
//	refund, settled   "commission_clawback:<refund>" Dr promoter:<id> ...    / Cr expense:commission
//	withdrawal        "commission_withdrawal:<id>"   Dr promoter:<id>        / Cr operating:wechat (pending, then posted or voided)
//
// A promoter's account may go negative: a refund after settlement (or after
// the money was withdrawn) claws the commission back, and later earnings
// net against it.
package affiliate

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/page"
)

// PromoterStatus is where a promoter's application is.
type PromoterStatus string

const (
	Applied  PromoterStatus = "applied"  // waiting for an operator
	Approved PromoterStatus = "approved" // earns commission, may be bound to
	Rejected PromoterStatus = "rejected" // an operator said no; may apply again
)

// Promoter is a buyer who promotes the shop. Their id is their buyer id.
type Promoter struct {
	ID         string         `json:"id"`
	InviteCode string         `json:"invite_code"`
	Status     PromoterStatus `json:"status"`
	AppliedAt  time.Time      `json:"applied_at"`
	DecidedAt  *time.Time     `json:"decided_at,omitempty"`
	DecidedBy  string         `json:"decided_by,omitempty"` // the operator, or "auto"
	Note       string         `json:"note,omitempty"`
}

// Account is the ledger account of a promoter's earnings: a liability the
// shop owes them, allowed to go negative (a clawback after settlement).
func Account(promoterID string) string { return "promoter:" + promoterID }

// The ledger accounts of distribution besides the promoters'. They are
// created through the ledger store (CreateAccount) the first time they are
// needed, not by a migration: the ledger's own suite expects a fresh book to
// hold the system accounts only.
const (
	// PendingAccount is commission computed on paid orders and not
	// settled yet: owed if the sale stands.
	PendingAccount = "commission:pending"
	// ExpenseAccount is the shop's cost of commission.
	ExpenseAccount = "expense:commission"
	// OperatingAccount is the merchant's WeChat Pay operating account, from
	// which transfers to a wallet are paid. Its top-ups happen outside siyu,
	// so it may go negative on the book: its balance is what was paid out
	// through it, negated.
	OperatingAccount = "operating:wechat"
)

// Accounts are the system accounts of distribution.
var Accounts = []ledger.Account{
	{ID: PendingAccount, Name: "Commission pending settlement", Kind: ledger.Liability},
	{ID: ExpenseAccount, Name: "Commission expense", Kind: ledger.Expense},
	{ID: OperatingAccount, Name: "WeChat Pay operating account (transfers to wallets)", Kind: ledger.Asset, AllowNegative: true},
}

// PromoterAccount is the ledger account of one promoter.
func PromoterAccount(promoterID string) ledger.Account {
	return ledger.Account{ID: Account(promoterID), Name: "Promoter " + promoterID, Kind: ledger.Liability, AllowNegative: true}
}

// Transfer kinds of distribution.
const (
	KindAccrual    = "commission"
	KindReversal   = "commission_reversal"
	KindSettle     = "commission_settle"
	KindClawback   = "commission_clawback"
	KindWithdrawal = "commission_withdrawal"
)

// Via is how a buyer came to be bound.
type Via string

const (
	ViaInviteCode Via = "invite_code"
	ViaShare      Via = "share"
)

// Binding says which promoter brought a buyer. One per buyer; it changes
// only as the program's binding mode says.
type Binding struct {
	BuyerID    string     `json:"buyer_id"`
	PromoterID string     `json:"promoter_id"`
	Via        Via        `json:"via"`
	Ref        string     `json:"ref"`                 // the invite code, or the share id
	DeviceID   string     `json:"device_id,omitempty"` // the device of the code's request or of the visit; "" if not named
	BoundAt    time.Time  `json:"bound_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"` // first touch, expiring
}

// CommissionState is where a commission is.
type CommissionState string

const (
	Pending  CommissionState = "pending"  // computed on payment; reversible
	Settled  CommissionState = "settled"  // moved to the promoter's account
	Reversed CommissionState = "reversed" // refunded in full before it settled
)

// Commission is what one promoter earns on one order line at one tier.
type Commission struct {
	ID         string          `json:"id"`
	OrderID    string          `json:"order_id"`
	LineID     string          `json:"line_id"`
	BuyerID    string          `json:"-"`
	PromoterID string          `json:"promoter_id"`
	Tier       int             `json:"tier"`
	ProductID  string          `json:"product_id"`
	SKUID      string          `json:"sku_id"`
	Base       money.Fen       `json:"base"` // what the line paid after every discount, no shipping
	Rate       money.BP        `json:"rate"`
	Amount     money.Fen       `json:"amount"`
	Refunded   money.Fen       `json:"refunded_base"` // of Base, refunded so far
	Reversed   money.Fen       `json:"reversed"`      // taken back while pending
	Settled    money.Fen       `json:"settled"`       // moved to the promoter's account
	ClawedBack money.Fen       `json:"clawed_back"`   // taken back after settlement
	State      CommissionState `json:"state"`
	CreatedAt  time.Time       `json:"created_at"`
	SettledAt  *time.Time      `json:"settled_at,omitempty"`
}

// Open is the part of a commission still pending.
func (c Commission) Open() money.Fen { return c.Amount - c.Reversed - c.Settled }

// Earned is what the commission is worth now: its amount less every
// reversal and clawback.
func (c Commission) Earned() money.Fen { return c.Amount - c.Reversed - c.ClawedBack }

// Sale is one paid order as distribution saw it: who bought, which
// promoters earn on it, and when it may settle.
type Sale struct {
	OrderID     string     `json:"order_id"`
	BuyerID     string     `json:"-"`
	SelfBuy     bool       `json:"self_purchase"` // the buyer is a promoter
	Paid        money.Fen  `json:"paid"`          // the lines' amounts: commission's base
	PaidAt      time.Time  `json:"paid_at"`
	SettleAfter *time.Time `json:"settle_after,omitempty"` // receipt confirmed + the settle window
	SettledAt   *time.Time `json:"settled_at,omitempty"`
}

// Change is what a store writes beside distribution's rows, in the same
// transaction.
type Change struct {
	Transfers []ledger.Transfer
	Post      []string // pending transfers to post
	Void      []string // pending transfers to void
	Jobs      []jobs.Job
}

// Earnings is a promoter's money, from distribution's own rows. It equals
// their ledger account: Available is the account's available balance.
type Earnings struct {
	Pending     money.Fen `json:"pending"`     // computed, not settled
	Credited    money.Fen `json:"credited"`    // settled into the account, ever
	ClawedBack  money.Fen `json:"clawed_back"` // taken back after settlement
	Withdrawing money.Fen `json:"withdrawing"` // requested, not paid yet
	Withdrawn   money.Fen `json:"withdrawn"`   // paid to the wallet
	Available   money.Fen `json:"available"`   // Credited - ClawedBack - Withdrawing - Withdrawn; may be negative
}

// Fill computes Available.
func (e *Earnings) Fill() { e.Available = e.Credited - e.ClawedBack - e.Withdrawing - e.Withdrawn }

// PromoterStats are one promoter's numbers, for the admin's top and
// suspicious lists.
type PromoterStats struct {
	PromoterID      string    `json:"promoter_id"`
	Downlines       int       `json:"downlines"`        // buyers bound to them
	Orders          int       `json:"orders"`           // orders they earn on at tier 1
	RefundedOrders  int       `json:"refunded_orders"`  // of those, with a refund
	RefundingBuyers int       `json:"refunding_buyers"` // downlines with a refunded order
	SelfPurchases   int       `json:"self_purchases"`   // orders they placed themselves
	DeviceClusters  int       `json:"device_clusters"`  // devices ClusterDownlines or more downlines were bound from
	Earned          money.Fen `json:"earned"`           // commission net of reversals and clawbacks
	Pending         money.Fen `json:"pending"`
}

// Member is one buyer of a promoter's team, as the promoter may see them.
type Member struct {
	BuyerID  string    `json:"-"`
	Masked   string    `json:"member"` // a masked id: never who they are
	Tier     int       `json:"tier"`
	BoundAt  time.Time `json:"bound_at"`
	Promoter bool      `json:"promoter"`
}

// Filters and pages of the listings, newest first.
type (
	PromoterFilter struct {
		Status PromoterStatus
		Cursor string
		Limit  int
	}
	PromoterPage struct {
		Promoters  []Promoter `json:"items"`
		NextCursor string     `json:"next_cursor,omitempty"`
	}
	CommissionFilter struct {
		PromoterID string
		OrderID    string
		Cursor     string
		Limit      int
	}
	CommissionPage struct {
		Commissions []Commission `json:"items"`
		NextCursor  string       `json:"next_cursor,omitempty"`
	}
	TeamFilter struct {
		Tier   int // 1 or 2
		Cursor string
		Limit  int
	}
	TeamPage struct {
		Members    []Member `json:"items"`
		NextCursor string   `json:"next_cursor,omitempty"`
	}
	WithdrawalFilter struct {
		PromoterID string
		State      WithdrawalState
		Cursor     string
		Limit      int
	}
	WithdrawalPage struct {
		Withdrawals []Withdrawal `json:"items"`
		NextCursor  string       `json:"next_cursor,omitempty"`
	}
)

// Page sizes of the listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Limit clamps a page size.
func Limit(n int) int { return page.Size(n, DefaultLimit, MaxLimit) }

// DayUse is what a promoter has withdrawn (requested, not refused or
// failed) in one business day.
type DayUse struct {
	Count  int
	Amount money.Fen
}

// Store keeps distribution's rows. Writes that move money take the ledger
// transfers of Change and write them in the same transaction.
type Store interface {
	// AffiliateProgram returns the stored program; ErrNoProgram if the
	// operator never saved one.
	AffiliateProgram(ctx context.Context) (*Program, error)
	// SaveAffiliateProgram stores the program (one row).
	SaveAffiliateProgram(ctx context.Context, p *Program) error
	// CommissionRules lists the rate rules, by scope and target.
	CommissionRules(ctx context.Context) ([]Rule, error)
	// SaveCommissionRule inserts or replaces the rule of its scope and target.
	SaveCommissionRule(ctx context.Context, r Rule) error
	// DeleteCommissionRule removes a rule; ErrRuleNotFound if absent.
	DeleteCommissionRule(ctx context.Context, scope Scope, targetID string) error

	// CreatePromoter records an application. ErrAlreadyPromoter if the
	// buyer has one; ErrCodeTaken if the invite code is used.
	CreatePromoter(ctx context.Context, p *Promoter) error
	Promoter(ctx context.Context, id string) (*Promoter, error)
	PromoterByCode(ctx context.Context, code string) (*Promoter, error)
	Promoters(ctx context.Context, f PromoterFilter) (PromoterPage, error)
	// UpdatePromoter locks the promoter and saves fn's change; fn
	// returning ErrNoop writes nothing.
	UpdatePromoter(ctx context.Context, id string, fn func(p *Promoter) error) (*Promoter, error)

	// Binding returns a buyer's binding; ErrNotBound if none.
	Binding(ctx context.Context, buyerID string) (*Binding, error)
	// Bind writes b unless decide refuses it (its error) or keeps the
	// current binding (ErrNoop); decide may change next (its expiry). It holds the one lock of binding writes
	// (PostgreSQL: an advisory lock; SQLite: its writer) while it reads the
	// buyer's binding and the chain above b.PromoterID (the promoter, the
	// promoter they are bound to, and so on, MaxChain at most) and writes:
	// two bindings written at once cannot close a cycle.
	Bind(ctx context.Context, b Binding, decide func(cur, next *Binding, chain []string) error) (*Binding, error)
	// Upline is the chain of promoters above a buyer: the one they are
	// bound to, the one that promoter is bound to, n at most, following
	// only bindings that hold at at.
	Upline(ctx context.Context, buyerID string, n int, at time.Time) ([]string, error)
	// AffiliateTeam lists the buyers bound to a promoter (tier 1) or to the buyers
	// bound to them (tier 2), newest binding first.
	AffiliateTeam(ctx context.Context, promoterID string, f TeamFilter) (TeamPage, error)

	// RecordSale writes a paid order's sale and its commissions with the
	// change, once per order: it reports false, writing nothing, if the
	// order was recorded before.
	RecordSale(ctx context.Context, s *Sale, cs []Commission, c Change) (bool, error)
	// Sale returns an order's sale; ErrNoSale if none.
	Sale(ctx context.Context, orderID string) (*Sale, error)
	// ScheduleSettlement sets when a recorded sale may settle, once.
	ScheduleSettlement(ctx context.Context, orderID string, at time.Time) (bool, error)
	// ApplyRefund locks an order's commissions and lets fn change them,
	// once per refund id: it reports false, writing nothing, if the refund
	// was applied before or the order has no sale. fn returns the changed
	// commissions and the change.
	ApplyRefund(ctx context.Context, refundID, orderID string, fn func(s *Sale, cs []Commission) ([]Commission, Change, error)) (bool, error)
	// SettleDue settles up to limit sales whose settle time is at or
	// before now, that are not settled, and whose order has no open
	// after-sale (requested, approved, refunding) and no unfinished refund
	// (pending, processing, abnormal). Each is locked (PostgreSQL: SKIP
	// LOCKED, so replicas share the work), fn changes their commissions
	// (all of the batch's, in one call), and all is written in one
	// transaction. It returns how many sales it settled.
	SettleDue(ctx context.Context, now time.Time, limit int, fn func(sales []*Sale, cs []Commission) ([]Commission, Change, error)) (int, error)
	// DueSales counts the sales due at now and not settled (blocked ones
	// included).
	DueSales(ctx context.Context, now time.Time) (int, error)
	Commissions(ctx context.Context, f CommissionFilter) (CommissionPage, error)

	// Earnings sums one promoter's money; EarningsTotal everyone's.
	Earnings(ctx context.Context, promoterID string) (Earnings, error)
	EarningsTotal(ctx context.Context) (Earnings, error)
	// PromoterStats counts every approved promoter's numbers; a device
	// cluster is a device ("" is none) from which ClusterDownlines or more
	// of the promoter's bindings were made.
	PromoterStats(ctx context.Context) ([]PromoterStats, error)

	// CreateWithdrawal locks the promoter, reads their earnings and what
	// they withdrew in [dayStart, dayEnd), lets plan decide, and writes
	// the withdrawal with the change.
	CreateWithdrawal(ctx context.Context, promoterID string, dayStart, dayEnd time.Time,
		plan func(p *Promoter, e Earnings, day DayUse) (*Withdrawal, Change, error)) (*Withdrawal, error)
	Withdrawal(ctx context.Context, id string) (*Withdrawal, error)
	Withdrawals(ctx context.Context, f WithdrawalFilter) (WithdrawalPage, error)
	// UpdateWithdrawal locks the withdrawal, lets fn change it, and writes
	// it with the change; fn returning ErrNoop writes nothing.
	UpdateWithdrawal(ctx context.Context, id string, fn func(w *Withdrawal) (Change, error)) (*Withdrawal, error)
}
