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
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
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
func Dr(account string, amount money.Fen) Entry {
	return Entry{Account: account, Side: Debit, Amount: amount}
}
func Cr(account string, amount money.Fen) Entry {
	return Entry{Account: account, Side: Credit, Amount: amount}
}

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
	// LedgerStats counts the book, for the report of a sound check.
	LedgerStats(ctx context.Context) (Stats, error)
	// CreateAccount adds an account (a promoter's or a buyer's balance). It
	// is a no-op if an identical account exists and ErrAccountConflict if
	// one with the same id differs.
	CreateAccount(ctx context.Context, a Account) error
	// Settlement reports one business day (Asia/Shanghai) from the posted
	// transfers of kinds payment, payment_fee, refund and refund_fee.
	Settlement(ctx context.Context, day time.Time) (Settlement, error)
}

// Transfer ids are business keys, so a retry of the same business event maps
// to the same transfer and cannot post twice. The domains that write
// transfers follow one convention, which CheckLedger and the settlement
// report rely on:
//
//	"payment:<payment id>"      kind "payment",     ref the order id
//	"payment_fee:<payment id>"  kind "payment_fee", ref the order id
//	"refund:<refund id>"        kind "refund",      ref the order id
//	"refund_fee:<refund id>"    kind "refund_fee",  ref the order id
//
// One payment, one "payment" transfer, posted when the payment is captured;
// one refund, one "refund" transfer, pending from the refund's intent and
// posted when the platform confirms it (voided if it fails). A transfer's
// amount (Transfer.Amount, its debits) is what it moved: a payment
// transfer's is what the buyer paid, a refund transfer's what was refunded.
// CheckLedger proves an order's posted payment transfers number one once it
// is paid, its refund transfers (not voided) total no more than its posted
// payment, and every payment or refund transfer names an existing payment
// (payments.id) or refund (refunds.id): with unique transfer ids, no refund
// can move money twice.
const (
	KindPayment    = "payment"
	KindPaymentFee = "payment_fee"
	KindRefund     = "refund"
	KindRefundFee  = "refund_fee"
)

// PaymentID, PaymentFeeID, RefundID and RefundFeeID build the transfer ids of
// the convention above.
func PaymentID(paymentID string) string    { return KindPayment + ":" + paymentID }
func PaymentFeeID(paymentID string) string { return KindPaymentFee + ":" + paymentID }
func RefundID(refundID string) string      { return KindRefund + ":" + refundID }
func RefundFeeID(refundID string) string   { return KindRefundFee + ":" + refundID }

// Error codes of the ledger, stable for clients and callers to switch on.
const (
	CodeConflict     = "ledger_transfer_conflict"
	CodeInsufficient = "ledger_insufficient"
	CodeInvalid      = "ledger_transfer_invalid"
	CodeNotFound     = "ledger_transfer_not_found"

	CodeAccountConflict = "ledger_account_conflict"
	CodeAccountNotFound = "ledger_account_not_found"
	CodeAccountInvalid  = "ledger_account_invalid"
)

var (
	// ErrConflict: a transfer id reused with other content, or a settle
	// that contradicts the transfer's state.
	ErrConflict = errs.E(errs.Conflict, CodeConflict, "ledger transfer conflicts with one already recorded")
	// ErrInsufficient: an entry would take an account that may not go
	// negative below zero, counting pending outflows.
	ErrInsufficient = errs.E(errs.Conflict, CodeInsufficient, "ledger account has insufficient balance")
	// ErrAccountConflict: an account id reused with another name, kind or
	// sign rule.
	ErrAccountConflict = errs.E(errs.Conflict, CodeAccountConflict, "ledger account conflicts with one already recorded")
	// ErrAccountNotFound: no account with that id.
	ErrAccountNotFound = errs.E(errs.NotFound, CodeAccountNotFound, "ledger account not found")
	// ErrNotFound: no transfer with that id.
	ErrNotFound = errs.E(errs.NotFound, CodeNotFound, "ledger transfer not found")
)

// Validate checks the shape of a transfer: an id, a kind, a state it may be
// written in, two entries or more, each positive on a named account and a
// side, and debits equal to credits. Whether the accounts exist is the
// store's to check, in the same transaction as the write.
func Validate(t Transfer) error {
	var l errs.List
	if t.ID == "" {
		l.Add("id", CodeInvalid, "transfer needs an id")
	}
	if t.Kind == "" {
		l.Add("kind", CodeInvalid, "transfer needs a kind")
	}
	switch t.State {
	case Pending, Posted:
	default:
		// Voided is reached only by settling a pending transfer: a transfer
		// born voided would never have moved money, so it has no place here.
		l.Add("state", CodeInvalid, "transfer %s: state must be pending or posted, not %q", t.ID, t.State)
	}
	if len(t.Entries) < 2 {
		l.Add("entries", CodeInvalid, "transfer %s: needs at least two entries", t.ID)
	}
	var dr, cr money.Fen
	for i, e := range t.Entries {
		if e.Account == "" {
			l.Add(fmt.Sprintf("entries[%d].account", i), CodeInvalid, "transfer %s: entry without an account", t.ID)
		}
		if e.Amount <= 0 {
			l.Add(fmt.Sprintf("entries[%d].amount", i), CodeInvalid, "transfer %s: amount must be positive, got %d", t.ID, e.Amount)
		}
		switch e.Side {
		case Debit:
			dr += e.Amount
		case Credit:
			cr += e.Amount
		default:
			l.Add(fmt.Sprintf("entries[%d].side", i), CodeInvalid, "transfer %s: side must be debit or credit, got %q", t.ID, e.Side)
		}
	}
	if dr != cr {
		l.Add("entries", CodeInvalid, "transfer %s: debits %d do not equal credits %d", t.ID, dr, cr)
	}
	return l.Err()
}

// Settlement is one business day's money as the ledger has it: the day runs
// midnight to midnight in Asia/Shanghai, the merchant's and WeChat Pay's
// day, so the report matches the platform's daily statement. Paid counts
// payment transfers posted that day, Refunded refund transfers posted that
// day (a refund pending at midnight counts on the day it is confirmed), Fees
// payment fees less fees returned on refunds.
type Settlement struct {
	Day      time.Time `json:"day"` // midnight Asia/Shanghai
	Payments int       `json:"payments"`
	Paid     money.Fen `json:"paid"`
	Refunds  int       `json:"refunds"`
	Refunded money.Fen `json:"refunded"`
	Fees     money.Fen `json:"fees"`
	Net      money.Fen `json:"net"` // Paid - Refunded - Fees
}
