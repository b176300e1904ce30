// Package ledger is siyu's double-entry book of every fen that moves. A
// transfer is a set of entries whose debits equal its credits; transfers are
// immutable and identified by a business key ("payment:<id>", "refund:<id>"),
// so a retry can never post twice. A transfer is posted at once, or pending
// first (a refund sent but not confirmed) and then posted or voided.
//
// Ledger writes happen inside the transaction of the change they account
// for: a payment's capture, its order's move to paid, its transfers and its
// events commit together. Each store engine has one helper that writes
// transfers in a transaction; this package owns their rules.
package ledger

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// Side is the side of an entry.
type Side string

const (
	Debit  Side = "debit"
	Credit Side = "credit"
)

// Kind classifies an account.
type Kind string

const (
	Asset     Kind = "asset"     // normal side debit
	Liability Kind = "liability" // normal side credit
	Revenue   Kind = "revenue"   // normal side credit
	Expense   Kind = "expense"   // normal side debit
)

// Normal is the side on which an account of this kind grows.
func (k Kind) Normal() Side {
	if k == Asset || k == Expense {
		return Debit
	}
	return Credit
}

// The system accounts. Later capabilities add theirs (commissions payable,
// points liability, one balance account per promoter or buyer).
const (
	// ClearingWeChat is buyer payments held by WeChat Pay until it settles
	// them to the merchant: what the merchant is owed by the platform.
	ClearingWeChat = "clearing:wechat"
	// MerchantRevenue is what buyers paid for goods and shipping.
	MerchantRevenue = "revenue:merchant"
	// RefundsPayable is refunds sent to WeChat Pay and not yet confirmed.
	RefundsPayable = "refunds:payable"
	// PlatformFees is WeChat Pay's fee on payments.
	PlatformFees = "fees:platform"
)

// Account is one account of the book.
type Account struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Kind          Kind   `json:"kind"`
	AllowNegative bool   `json:"allow_negative"` // may its balance go below zero on its normal side
}

// SystemAccounts are created by the migrations of both engines.
var SystemAccounts = []Account{
	{ID: ClearingWeChat, Name: "Buyer payments in clearing at WeChat Pay", Kind: Asset},
	{ID: MerchantRevenue, Name: "Merchant revenue", Kind: Revenue},
	{ID: RefundsPayable, Name: "Refunds payable", Kind: Liability},
	{ID: PlatformFees, Name: "Payment platform fees", Kind: Expense},
}

// State is a transfer's state.
type State string

const (
	Pending State = "pending"
	Posted  State = "posted"
	Voided  State = "voided"
)

// Entry is one line of a transfer: an amount on one side of one account.
type Entry struct {
	Account string    `json:"account"`
	Side    Side      `json:"side"`
	Amount  money.Fen `json:"amount"` // > 0
}

// Dr and Cr build entries.
func Dr(account string, amount money.Fen) Entry { return Entry{Account: account, Side: Debit, Amount: amount} }
func Cr(account string, amount money.Fen) Entry { return Entry{Account: account, Side: Credit, Amount: amount} }

// Transfer is one balanced movement.
type Transfer struct {
	ID        string     `json:"id"`   // business key: unique, so a retry cannot post twice
	Kind      string     `json:"kind"` // "payment", "payment_fee", "refund", ...
	Ref       string     `json:"ref"`  // the order (or other object) it belongs to
	State     State      `json:"state"`
	Entries   []Entry    `json:"entries"`
	CreatedAt time.Time  `json:"created_at"`
	SettledAt *time.Time `json:"settled_at,omitempty"` // when it was posted or voided after pending
}

// Balance is an account's position: debits and credits, posted and pending.
type Balance struct {
	Account        Account   `json:"account"`
	PostedDebits   money.Fen `json:"posted_debits"`
	PostedCredits  money.Fen `json:"posted_credits"`
	PendingDebits  money.Fen `json:"pending_debits"`
	PendingCredits money.Fen `json:"pending_credits"`
}

// Posted is the posted balance on the account's normal side.
func (b Balance) Posted() money.Fen {
	if b.Account.Kind.Normal() == Debit {
		return b.PostedDebits - b.PostedCredits
	}
	return b.PostedCredits - b.PostedDebits
}

// Line is one entry of an account's statement.
type Line struct {
	TransferID string    `json:"transfer_id"`
	Kind       string    `json:"kind"`
	Ref        string    `json:"ref"`
	State      State     `json:"state"`
	Side       Side      `json:"side"`
	Amount     money.Fen `json:"amount"`
	At         time.Time `json:"at"`
}

// Breach is one broken invariant found by Check.
type Breach struct {
	Rule   string `json:"rule"`   // e.g. "transfer_unbalanced"
	Ref    string `json:"ref"`    // the transfer, account or order concerned
	Detail string `json:"detail"` // what was found
}

// Store keeps the book. Transfers belonging to another domain's change are
// written by that domain's store in its own transaction; these methods are
// the ledger's own.
type Store interface {
	// PostTransfers writes transfers in their own transaction. A transfer
	// whose id exists already is skipped if identical and an error
	// (ErrConflict) if not. An entry that would take an account that may
	// not go negative below zero fails the whole call (ErrInsufficient).
	PostTransfers(ctx context.Context, ts ...Transfer) error
	// SettleTransfer moves a pending transfer to posted or voided; settling
	// it again to the same state is a no-op.
	SettleTransfer(ctx context.Context, id string, to State, at time.Time) error
	Transfer(ctx context.Context, id string) (*Transfer, error)
	Balances(ctx context.Context) ([]Balance, error)
	Statement(ctx context.Context, account string, from, to time.Time, limit int) ([]Line, error)
	// CheckLedger verifies every invariant in the database and returns the
	// breaches (none: the book is sound).
	CheckLedger(ctx context.Context) ([]Breach, error)
}
