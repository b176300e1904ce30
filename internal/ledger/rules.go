package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// Validate checks an account before it is created.
func (a Account) Validate() error {
	var l errs.List
	if a.ID == "" {
		l.Add("id", CodeAccountInvalid, "account needs an id")
	}
	if a.Name == "" {
		l.Add("name", CodeAccountInvalid, "account %s needs a name", a.ID)
	}
	switch a.Kind {
	case Asset, Liability, Revenue, Expense:
	default:
		l.Add("kind", CodeAccountInvalid, "account %s: unknown kind %q", a.ID, a.Kind)
	}
	return l.Err()
}

// Born is the state a transfer was written in: a transfer settled after
// being pending was born pending, whatever it is now. A retry of the
// original post carries the born state, so that is what a repost compares.
func (t Transfer) Born() State {
	if t.SettledAt != nil {
		return Pending
	}
	return t.State
}

// Identical reports whether t, posted again, repeats the stored transfer:
// the same kind, ref, born state and entries (in any order). The creation
// time is not compared: a retry stamps its own.
func Identical(stored, t Transfer) bool {
	if stored.ID != t.ID || stored.Kind != t.Kind || stored.Ref != t.Ref || stored.Born() != t.Born() ||
		len(stored.Entries) != len(t.Entries) {
		return false
	}
	a, b := sortedEntries(stored.Entries), sortedEntries(t.Entries)
	return slices.Equal(a, b)
}

func sortedEntries(es []Entry) []Entry {
	out := slices.Clone(es)
	slices.SortFunc(out, func(x, y Entry) int {
		if c := strings.Compare(x.Account, y.Account); c != 0 {
			return c
		}
		if c := strings.Compare(string(x.Side), string(y.Side)); c != 0 {
			return c
		}
		return int(x.Amount - y.Amount)
	})
	return out
}

// Movement is the change a write makes to one account's four running sums.
type Movement struct {
	Account        string
	PostedDebits   money.Fen
	PostedCredits  money.Fen
	PendingDebits  money.Fen
	PendingCredits money.Fen
}

// add moves amount on side into (sign > 0) or out of (sign < 0) the sums of
// state.
func (m *Movement) add(state State, side Side, amount money.Fen, sign money.Fen) {
	switch {
	case state == Posted && side == Debit:
		m.PostedDebits += sign * amount
	case state == Posted && side == Credit:
		m.PostedCredits += sign * amount
	case state == Pending && side == Debit:
		m.PendingDebits += sign * amount
	case state == Pending && side == Credit:
		m.PendingCredits += sign * amount
	}
}

// Movements sums what writing ts does to each account. They come sorted by
// account id, the order in which the stores lock accounts: two writers that
// touch the same accounts then queue instead of deadlocking.
func Movements(ts []Transfer) []Movement {
	by := map[string]*Movement{}
	for _, t := range ts {
		for _, e := range t.Entries {
			movement(by, e.Account).add(t.State, e.Side, e.Amount, 1)
		}
	}
	return sortedMovements(by)
}

// SettleMovements is what settling pending transfers with these entries to
// state to does: their amounts leave the pending sums and, if posted, join
// the posted ones.
func SettleMovements(entries []Entry, to State) []Movement {
	by := map[string]*Movement{}
	for _, e := range entries {
		m := movement(by, e.Account)
		m.add(Pending, e.Side, e.Amount, -1)
		if to == Posted {
			m.add(Posted, e.Side, e.Amount, 1)
		}
	}
	return sortedMovements(by)
}

func movement(by map[string]*Movement, account string) *Movement {
	m := by[account]
	if m == nil {
		m = &Movement{Account: account}
		by[account] = m
	}
	return m
}

func sortedMovements(by map[string]*Movement) []Movement {
	out := make([]Movement, 0, len(by))
	for _, m := range by {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Movement) int { return strings.Compare(a.Account, b.Account) })
	return out
}

// Available is what an account may still give on its normal side: its
// posted balance less its pending outflows. Pending inflows do not count
// (a refund not yet confirmed has not brought anything), pending outflows
// do (a refund sent cannot be spent a second time).
func (b Balance) Available() money.Fen {
	if b.Account.Kind.Normal() == Debit {
		return b.PostedDebits - b.PostedCredits - b.PendingCredits
	}
	return b.PostedCredits - b.PostedDebits - b.PendingDebits
}

// shanghai is China Standard Time. China has kept UTC+8 without daylight
// saving since 1991, so a fixed zone equals Asia/Shanghai for every date
// siyu can see, and the binary needs no tzdata on the host.
var shanghai = time.FixedZone("CST", 8*60*60)

// BusinessDay returns the business day holding t: midnight to midnight in
// Asia/Shanghai, the day of the merchant's books and of WeChat Pay's daily
// statements.
func BusinessDay(t time.Time) (start, end time.Time) {
	l := t.In(shanghai)
	start = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, shanghai)
	return start, start.AddDate(0, 0, 1)
}

// Stats counts the book.
type Stats struct {
	Transfers int `json:"transfers"`
	Entries   int `json:"entries"`
	Accounts  int `json:"accounts"`
}

// Breach rules CheckLedger reports.
const (
	RuleTransferUnbalanced = "transfer_unbalanced"      // a transfer's debits differ from its credits, or it has fewer than two entries
	RuleBookUnbalanced     = "book_unbalanced"          // debits differ from credits over all entries, posted or pending
	RuleBalancesUnbalanced = "balances_unbalanced"      // the stored balances' debits differ from their credits
	RuleBalanceMismatch    = "account_balance_mismatch" // an account's stored sums differ from its entries
	RuleNegative           = "account_negative"         // an account that may not go negative is below zero
	RulePaidOrderPayment   = "paid_order_payment"       // a paid order without exactly one posted payment transfer
	RulePaymentTwice       = "payment_posted_twice"     // an order with more than one posted payment transfer
	RuleTransferID         = "transfer_id_convention"   // a payment or refund transfer whose id breaks the convention
	RuleRefundOrphan       = "refund_transfer_orphan"   // a refund transfer naming no refund
	RulePaymentOrphan      = "payment_transfer_orphan"  // a payment transfer naming no payment
	RuleRefundExceedsPaid  = "refund_exceeds_payment"   // an order refunded more than paid
)

// StatementLimit bounds a statement page: 100 lines unless asked, at most
// 1,000.
func StatementLimit(limit int) int {
	if limit <= 0 {
		return 100
	}
	return min(limit, 1000)
}

// KindTotal is how many posted transfers of one kind a day holds and what
// they moved (each transfer's debits).
type KindTotal struct {
	Count  int
	Amount money.Fen
}

// NewSettlement builds a day's report from the totals by transfer kind.
func NewSettlement(day time.Time, by map[string]KindTotal) Settlement {
	s := Settlement{
		Day:      day,
		Payments: by[KindPayment].Count,
		Paid:     by[KindPayment].Amount,
		Refunds:  by[KindRefund].Count,
		Refunded: by[KindRefund].Amount,
		Fees:     by[KindPaymentFee].Amount - by[KindRefundFee].Amount,
	}
	s.Net = s.Paid - s.Refunded - s.Fees
	return s
}

// MaxBreaches is how many breaches one check lists: a corrupted
// book of a million transfers would otherwise print a million lines.
const MaxBreaches = 100

// Capped keeps the first MaxBreaches breaches one check found and, if there
// were more, says so in one more.
func Capped(check string, found []Breach) []Breach {
	if len(found) <= MaxBreaches {
		return found
	}
	return append(found[:MaxBreaches:MaxBreaches], Breach{Rule: found[MaxBreaches].Rule,
		Detail: fmt.Sprintf("the %s check found more than %d breaches; the rest are not listed", check, MaxBreaches)})
}

// Amount is what a transfer moves: the sum of its debits, which in a valid
// transfer is also the sum of its credits. The stores keep it beside the
// transfer for the reports and the per-order checks.
func (t Transfer) Amount() money.Fen {
	var sum money.Fen
	for _, e := range t.Entries {
		if e.Side == Debit {
			sum += e.Amount
		}
	}
	return sum
}
