package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
)

// financeRoles: the book is finance's to read.
var financeRoles = []identity.Role{identity.Finance}

// Ledger is what the finance views read of the book (ledger.Store has it).
// It has no write: money moves only through the services whose changes the
// transfers account for.
type Ledger interface {
	Balances(ctx context.Context) ([]ledger.Balance, error)
	Statement(ctx context.Context, account string, from, to time.Time, limit int) ([]ledger.Line, error)
	Settlement(ctx context.Context, day time.Time) (ledger.Settlement, error)
	CheckLedger(ctx context.Context) ([]ledger.Breach, error)
	LedgerStats(ctx context.Context) (ledger.Stats, error)
}

// sums are the four running sums of an account, or of the whole book.
type sums struct {
	PostedDebits   money.Fen `json:"posted_debits"`
	PostedCredits  money.Fen `json:"posted_credits"`
	PendingDebits  money.Fen `json:"pending_debits"`
	PendingCredits money.Fen `json:"pending_credits"`
}

func (s *sums) add(b ledger.Balance) {
	s.PostedDebits += b.PostedDebits
	s.PostedCredits += b.PostedCredits
	s.PendingDebits += b.PendingDebits
	s.PendingCredits += b.PendingCredits
}

// trialAccount is one account's line of the trial balance.
type trialAccount struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Kind          ledger.Kind `json:"kind"`
	AllowNegative bool        `json:"allow_negative"`
	sums
	Balance   money.Fen `json:"balance"`   // posted, on the account's normal side
	Available money.Fen `json:"available"` // posted less pending outflows
}

// trialBalance lists every account and the book's totals. Double entry
// means the totals' debits equal their credits, posted and pending alike;
// balanced says whether they do, so nobody has to add up to find out.
type trialBalance struct {
	Accounts []trialAccount `json:"accounts"`
	Totals   sums           `json:"totals"`
	Balanced bool           `json:"balanced"`
}

func (a *api) trialBalance(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	if err := newQuery(r).err(); err != nil {
		writeError(w, r, err)
		return
	}
	bs, err := a.d.Ledger.Balances(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	tb := trialBalance{Accounts: make([]trialAccount, 0, len(bs))}
	for _, b := range bs {
		ta := trialAccount{ID: b.Account.ID, Name: b.Account.Name, Kind: b.Account.Kind, AllowNegative: b.Account.AllowNegative,
			Balance: b.Posted(), Available: b.Available()}
		ta.add(b)
		tb.Totals.add(b)
		tb.Accounts = append(tb.Accounts, ta)
	}
	t := tb.Totals
	tb.Balanced = t.PostedDebits == t.PostedCredits && t.PendingDebits == t.PendingCredits
	writeJSON(w, r, http.StatusOK, tb)
}

// statement is one account's entries, newest first.
type statement struct {
	Account string        `json:"account"`
	Items   []ledger.Line `json:"items"`
}

// maxAccountID bounds the {account} of a path; longer names no account.
const maxAccountID = 128

func (a *api) accountStatement(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	account := r.PathValue("account")
	if account == "" || len(account) > maxAccountID {
		writeError(w, r, ledger.ErrAccountNotFound)
		return
	}
	q := newQuery(r, "from", "to", "limit")
	from, to := q.time("from"), q.time("to")
	limit := q.statementLimit()
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		q.errs.Add("to", "invalid_parameter", "to must be after from")
	}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	lines, err := a.d.Ledger.Statement(r.Context(), account, from, to, limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if lines == nil {
		lines = []ledger.Line{}
	}
	writeJSON(w, r, http.StatusOK, statement{Account: account, Items: lines})
}

// time is an optional RFC 3339 time parameter.
func (q *query) time(name string) time.Time {
	s, ok := q.get(name)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.errs.Add(name, "invalid_parameter", "%s must be an RFC 3339 time, e.g. 2026-11-22T08:00:00+08:00", name)
		return time.Time{}
	}
	return t
}

// statementLimit is the page size of a statement: longer than a listing's,
// since finance reads a day's entries at once.
func (q *query) statementLimit() int {
	const most = 1000
	s, ok := q.get("limit")
	if !ok {
		return ledger.StatementLimit(0)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		q.errs.Add("limit", "invalid_parameter", "limit must be a whole number from 1 to %d", most)
		return ledger.StatementLimit(0)
	}
	return n
}

// settlementView is a day's settlement report; the day is the business day
// of WeChat Pay's statements, midnight to midnight in Asia/Shanghai.
type settlementView struct {
	Day      string    `json:"day"`
	Payments int       `json:"payments"`
	Paid     money.Fen `json:"paid"`
	Refunds  int       `json:"refunds"`
	Refunded money.Fen `json:"refunded"`
	Fees     money.Fen `json:"fees"`
	Net      money.Fen `json:"net"`
}

const dayLayout = "2006-01-02"

func (a *api) settlement(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	if err := newQuery(r).err(); err != nil {
		writeError(w, r, err)
		return
	}
	// Midnight UTC of a date falls on the same date in Asia/Shanghai
	// (UTC+8), which is the zone the ledger reads the day in.
	day, err := time.Parse(dayLayout, r.PathValue("day"))
	if err != nil {
		writeError(w, r, errs.Field("day", "invalid_parameter", "the day is a date, YYYY-MM-DD"))
		return
	}
	s, err := a.d.Ledger.Settlement(r.Context(), day)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, settlementView{
		Day: day.Format(dayLayout), Payments: s.Payments, Paid: s.Paid, Refunds: s.Refunds,
		Refunded: s.Refunded, Fees: s.Fees, Net: s.Net,
	})
}

// ledgerCheck is the answer of a check of every ledger invariant, the same
// check `siyu ledger check` runs.
type ledgerCheck struct {
	Sound    bool            `json:"sound"`
	Breaches []ledger.Breach `json:"breaches"`
	Stats    ledger.Stats    `json:"stats"`
}

func (a *api) checkLedger(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	if err := newQuery(r).err(); err != nil {
		writeError(w, r, err)
		return
	}
	breaches, err := a.d.Ledger.CheckLedger(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	stats, err := a.d.Ledger.LedgerStats(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if breaches == nil {
		breaches = []ledger.Breach{}
	}
	writeJSON(w, r, http.StatusOK, ledgerCheck{Sound: len(breaches) == 0, Breaches: breaches, Stats: stats})
}
