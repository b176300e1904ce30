// Package points owns the buyers' points (积分): lots earned on paid orders,
// daily sign-ins and operator-granted tasks, each with an expiry; points
// spent as a deduction at checkout (the pricing pipeline's points step),
// taken back and returned by refunds, and expired lot by lot. Every movement
// is a balanced transfer on the ledger against one points liability.
//
// The unit: DOMAIN.md (compliance, "Any virtual currency exchanges 1:1 with
// the yuan") fixes one point to one yuan, so a point is worth 100 fen and
// points are whole numbers: nothing here ever holds a fraction of a point.
package points

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

// FenPerPoint is what one point is worth: one yuan (DOMAIN.md: any virtual
// currency exchanges 1:1 with the yuan).
const FenPerPoint money.Fen = 100

// Value is what n points are worth.
func Value(n int64) money.Fen { return money.Fen(n) * FenPerPoint }

// Config is the operator's points rules.
type Config struct {
	// EarnRate is the share of what a buyer paid that comes back as
	// points, in basis points: 100 bp gives 1 point (1 yuan) per 100 yuan
	// paid. A rate of "1 point per yuan" would give the whole price back,
	// since a point is a yuan.
	EarnRate money.BP `json:"earn_rate_bp"`
	// SignIn is what a daily sign-in gives; 0 turns sign-ins off.
	SignIn int64 `json:"sign_in_points"`
	// SpendCap is the most of an order's goods amount points may pay, in
	// basis points.
	SpendCap money.BP `json:"spend_cap_bp"`
	// ExpiryDays is how long a lot lives after it is earned.
	ExpiryDays int `json:"expiry_days"`
}

// DefaultConfig: 1% back, 1 point a sign-in, at most half the goods paid
// with points, lots that live 365 days (the 12 months common in the field).
var DefaultConfig = Config{EarnRate: 100, SignIn: 1, SpendCap: 5000, ExpiryDays: 365}

// Earned is what paying paid earns under c: whole points, rounded down
// once, from the exact product (money.Fen.Rate would round to the fen
// first, and 99.99 yuan at 1% would earn a point).
func (c Config) Earned(paid money.Fen) int64 {
	if paid <= 0 {
		return 0
	}
	return int64(paid) * int64(c.EarnRate) / (int64(money.Whole) * int64(FenPerPoint))
}

// Expiry is when a lot earned at t expires.
func (c Config) Expiry(t time.Time) time.Time {
	return t.Add(time.Duration(c.ExpiryDays) * 24 * time.Hour)
}

// Source is where a lot or a movement came from.
type Source string

const (
	SourceOrder  Source = "order"   // earned on a paid order
	SourceSignIn Source = "sign_in" // a daily sign-in
	SourceTask   Source = "task"    // an operator's award
	SourceReturn Source = "return"  // spent points given back (cancel, refund)
	SourceSpend  Source = "spend"   // spent at checkout
	SourceClaw   Source = "clawback"
	SourceExpire Source = "expire"
)

// Lot is one earning with what is left of it.
type Lot struct {
	ID        string    `json:"id"`
	BuyerID   string    `json:"-"`
	Source    Source    `json:"source"`
	Points    int64     `json:"points"`
	Remaining int64     `json:"remaining"`
	Ref       string    `json:"ref,omitempty"`
	EarnedAt  time.Time `json:"earned_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Movement is one line of a buyer's points history: positive in, negative
// out.
type Movement struct {
	ID        string    `json:"id"`
	Key       string    `json:"-"`
	BuyerID   string    `json:"-"`
	Kind      Source    `json:"kind"`
	Points    int64     `json:"points"`
	Ref       string    `json:"ref,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Balance is a buyer's points now.
type Balance struct {
	Points int64 `json:"points"` // usable: unexpired lots' remaining
	// Debt is points a refund had to take back after they were spent: the
	// next earnings pay it first.
	Debt int64 `json:"debt"`
	// Value is Points in fen.
	Value money.Fen `json:"value"`
	// ExpiringSoon is what expires within 30 days.
	ExpiringSoon int64 `json:"expiring_soon"`
}

// Add is points coming in: an earning (a lot) or spent points returned.
type Add struct {
	Key     string // once only: a second Add with the key changes nothing
	BuyerID string
	Source  Source
	Points  int64
	Ref     string
	Reason  string
	At      time.Time
	Expires time.Time
	// Paid, for an order's earning, is what the order paid: the base of
	// later refunds' take-back.
	Paid money.Fen
}

// Refund is a refund of an order as the points see it.
type Refund struct {
	RefundID string
	OrderID  string
	Amount   money.Fen
	Full     bool
	At       time.Time
	Expires  time.Time // of the lot returned spent points go to
}

// OrderPoints is what an order did with points.
type OrderPoints struct {
	OrderID  string    `json:"order_id"`
	BuyerID  string    `json:"-"`
	Paid     money.Fen `json:"paid"`
	Earned   int64     `json:"earned"`
	Spent    int64     `json:"spent"`
	Refunded money.Fen `json:"refunded"`
	Clawed   int64     `json:"clawed"`
	Returned int64     `json:"returned"`
	// SpendVoided: the order ended unpaid and its spent points came back
	// then; money captured after the close and refunded returns none again.
	SpendVoided bool `json:"-"`
}

// RefundShares is what a refund of amount (refunded in all, this one
// included) takes back of the points an order earned, and gives back of
// those it spent, beyond what earlier refunds did: proportional to the
// share of the payment refunded, rounded so the buyer keeps whole points
// and a full refund settles everything exactly.
func RefundShares(op OrderPoints, refunded money.Fen, full bool) (claw, ret int64) {
	if op.SpendVoided {
		op.Spent, op.Returned = 0, 0
	}
	if full || op.Paid <= 0 || refunded >= op.Paid {
		return op.Earned - op.Clawed, op.Spent - op.Returned
	}
	left := op.Paid - refunded
	// Keep floor(earned x left / paid): the take-back rounds up.
	claw = op.Earned - int64(money.Fen(op.Earned)*left/op.Paid) - op.Clawed
	ret = int64(money.Fen(op.Spent)*refunded/op.Paid) - op.Returned
	return max(claw, 0), max(ret, 0)
}

// Store keeps lots, movements and the per-order record. Every change is
// one transaction with its ledger transfer; a buyer's changes are
// serialised (a row lock on PostgreSQL, the single writer on SQLite), so
// two checkouts cannot spend the same points.
type Store interface {
	PointsConfig(ctx context.Context) (Config, error)
	SetPointsConfig(ctx context.Context, c Config, at time.Time) error
	PointsBalance(ctx context.Context, buyerID string, now time.Time) (Balance, error)
	// PointsLots lists the buyer's live lots, oldest-expiring first.
	PointsLots(ctx context.Context, buyerID string, now time.Time, limit int) ([]Lot, error)
	PointsHistory(ctx context.Context, buyerID string, limit int) ([]Movement, error)
	// AddPoints adds a lot (paying the buyer's debt first) and posts its
	// transfer; false when a movement with a.Key exists already.
	AddPoints(ctx context.Context, a Add) (bool, error)
	// SpendPoints creates d's order with d.Points taken from the buyer's
	// lots, oldest-expiring first, and a pending spend transfer, all or
	// nothing: ErrInsufficient when the lots do not hold enough.
	SpendPoints(ctx context.Context, d *order.Draft, at time.Time) error
	// SettlePointsSpend posts an order's pending spend (paid) or voids it
	// and returns the points to a new lot expiring at expires (cancelled
	// or closed unpaid); false when there is nothing (more) to settle.
	SettlePointsSpend(ctx context.Context, orderID string, paid bool, at, expires time.Time) (bool, error)
	// RefundPoints takes back earned points and returns spent ones for a
	// refund (RefundShares), once per refund.
	RefundPoints(ctx context.Context, r Refund) (bool, error)
	PointsOrder(ctx context.Context, orderID string) (*OrderPoints, error)
	// ExpirePoints expires up to limit lots past their expiry; it returns
	// how many.
	ExpirePoints(ctx context.Context, now time.Time, limit int) (int, error)
}

// The ledger accounts of points, created at start through the ledger store
// (like distribution's): the ledger's own suite expects a fresh book to
// hold the system accounts only.
const (
	// LiabilityAccount is every unexpired, unspent point: what the shop
	// owes buyers in goods, one yuan a point. It may not go negative, which
	// backs the lots' own checks.
	LiabilityAccount = "points:liability"
	// ExpenseAccount is the marketing cost of points given.
	ExpenseAccount = "expense:points"
	// BreakageAccount is points that expired unspent: income once the
	// obligation lapses.
	BreakageAccount = "revenue:points_breakage"
)

// Accounts are the points' ledger accounts.
var Accounts = []ledger.Account{
	{ID: LiabilityAccount, Name: "Points liability (1 point = 1 yuan)", Kind: ledger.Liability},
	{ID: ExpenseAccount, Name: "Points marketing expense", Kind: ledger.Expense},
	{ID: BreakageAccount, Name: "Points breakage income", Kind: ledger.Revenue},
}

// Transfer kinds of points.
const (
	KindEarn   = "points_earn"   // Dr expense:points, Cr points:liability
	KindSpend  = "points_spend"  // Dr points:liability, Cr revenue:merchant (pending until paid)
	KindReturn = "points_return" // Dr revenue:merchant, Cr points:liability (a refund gives spent points back)
	KindClaw   = "points_claw"   // Dr points:liability, Cr expense:points (a refund takes earned points back)
	KindExpire = "points_expire" // Dr points:liability, Cr revenue:points_breakage
)

// Transfer is the ledger transfer of a points movement of n points under
// kind, id'd "<kind>:<key>".
func Transfer(kind, key, ref string, n int64, state ledger.State, at time.Time) ledger.Transfer {
	v := Value(n)
	var dr, cr string
	switch kind {
	case KindEarn:
		dr, cr = ExpenseAccount, LiabilityAccount
	case KindSpend:
		dr, cr = LiabilityAccount, ledger.MerchantRevenue
	case KindReturn:
		dr, cr = ledger.MerchantRevenue, LiabilityAccount
	case KindClaw:
		dr, cr = LiabilityAccount, ExpenseAccount
	case KindExpire:
		dr, cr = LiabilityAccount, BreakageAccount
	}
	return ledger.Transfer{ID: kind + ":" + key, Kind: kind, Ref: ref, State: state, CreatedAt: at,
		Entries: []ledger.Entry{ledger.Dr(dr, v), ledger.Cr(cr, v)}}
}

// SpendTransferID is the id of an order's spend transfer.
func SpendTransferID(orderID string) string { return KindSpend + ":" + orderID }

// KindDebt is the take-back a refund could not make (the points were spent)
// made later, when points come in and pay the buyer's debt.
const KindDebt = "points_debt"

// DebtTransfer is the transfer of n incoming points paying a debt, for
// points that would otherwise have come in by a transfer of kind (""
// when the void of a pending spend already gave the liability back). The
// deferred take-back credits the expense, as KindClaw does; the debit is
// what the incoming points would have credited the liability from. An
// earning pays a debt with no transfer at all: its expense and the
// take-back's credit are the same account.
func DebtTransfer(kind, key, ref string, n int64, at time.Time) *ledger.Transfer {
	var dr string
	switch kind {
	case KindReturn:
		dr = ledger.MerchantRevenue
	case "":
		dr = LiabilityAccount
	default:
		return nil
	}
	v := Value(n)
	return &ledger.Transfer{ID: KindDebt + ":" + key, Kind: KindDebt, Ref: ref, State: ledger.Posted, CreatedAt: at,
		Entries: []ledger.Entry{ledger.Dr(dr, v), ledger.Cr(ExpenseAccount, v)}}
}
