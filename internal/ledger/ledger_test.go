package ledger_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
)

func transfer(state ledger.State, entries ...ledger.Entry) ledger.Transfer {
	return ledger.Transfer{ID: "payment:p1", Kind: ledger.KindPayment, Ref: "o1", State: state, Entries: entries}
}

func TestValidate(t *testing.T) {
	ok := transfer(ledger.Posted, ledger.Dr("a", 3), ledger.Dr("b", 2), ledger.Cr("c", 5))
	if err := ledger.Validate(ok); err != nil {
		t.Fatalf("a balanced transfer: %v", err)
	}
	for _, c := range []struct {
		name  string
		tr    ledger.Transfer
		field string
	}{
		{"unbalanced", transfer(ledger.Posted, ledger.Dr("a", 3), ledger.Cr("c", 4)), "entries"},
		{"one entry", transfer(ledger.Posted, ledger.Dr("a", 3)), ""},
		{"zero amount", transfer(ledger.Posted, ledger.Dr("a", 0), ledger.Cr("c", 0)), "entries[0].amount"},
		{"negative amount", transfer(ledger.Posted, ledger.Dr("a", -1), ledger.Cr("c", -1)), ""},
		{"no account", transfer(ledger.Posted, ledger.Dr("", 1), ledger.Cr("c", 1)), "entries[0].account"},
		{"bad side", transfer(ledger.Posted, ledger.Entry{Account: "a", Side: "left", Amount: 1}, ledger.Cr("c", 1)), ""},
		{"born voided", transfer(ledger.Voided, ledger.Dr("a", 1), ledger.Cr("c", 1)), "state"},
		{"no id", ledger.Transfer{Kind: "k", State: ledger.Posted, Entries: ok.Entries}, "id"},
		{"no kind", ledger.Transfer{ID: "x", State: ledger.Posted, Entries: ok.Entries}, "kind"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ledger.Validate(c.tr)
			e, isErr := errs.As(err)
			if !isErr || e.Kind != errs.Invalid {
				t.Fatalf("Validate = %v, want an invalid error", err)
			}
			if c.field != "" && e.Field != c.field {
				t.Fatalf("field %q, want %q (%v)", e.Field, c.field, err)
			}
		})
	}
}

func TestIdentical(t *testing.T) {
	stored := transfer(ledger.Posted, ledger.Dr("a", 5), ledger.Cr("b", 5))
	stored.CreatedAt = time.Unix(1, 0)
	retry := transfer(ledger.Posted, ledger.Cr("b", 5), ledger.Dr("a", 5))
	retry.CreatedAt = time.Unix(2, 0)
	if !ledger.Identical(stored, retry) {
		t.Fatal("a retry with its entries reordered and its own time is not identical")
	}
	settled := transfer(ledger.Posted, ledger.Dr("a", 5), ledger.Cr("b", 5))
	at := time.Unix(3, 0)
	settled.SettledAt = &at
	if !ledger.Identical(settled, transfer(ledger.Pending, ledger.Dr("a", 5), ledger.Cr("b", 5))) {
		t.Fatal("the pending post of a since-settled transfer is not identical")
	}
	if ledger.Identical(settled, retry) {
		t.Fatal("a posted transfer repeats one born pending")
	}
	other := retry
	other.Ref = "o2"
	if ledger.Identical(stored, other) {
		t.Fatal("another ref is identical")
	}
	if ledger.Identical(stored, transfer(ledger.Posted, ledger.Dr("a", 5), ledger.Cr("b", 4), ledger.Cr("b", 1))) {
		t.Fatal("other entries of the same total are identical")
	}
}

func TestMovements(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want []ledger.Movement
	}{
		{"posting sums per account, sorted by id", ledger.Movements([]ledger.Transfer{
			transfer(ledger.Posted, ledger.Dr("z", 5), ledger.Cr("a", 5)),
			transfer(ledger.Pending, ledger.Dr("a", 2), ledger.Cr("m", 2)),
		}), []ledger.Movement{
			{Account: "a", PostedCredits: 5, PendingDebits: 2},
			{Account: "m", PendingCredits: 2},
			{Account: "z", PostedDebits: 5},
		}},
		{"settling to posted moves pending to posted",
			ledger.SettleMovements([]ledger.Entry{ledger.Dr("a", 2), ledger.Cr("m", 2)}, ledger.Posted),
			[]ledger.Movement{{Account: "a", PostedDebits: 2, PendingDebits: -2}, {Account: "m", PostedCredits: 2, PendingCredits: -2}}},
		{"voiding takes pending away",
			ledger.SettleMovements([]ledger.Entry{ledger.Dr("a", 2), ledger.Cr("m", 2)}, ledger.Voided),
			[]ledger.Movement{{Account: "a", PendingDebits: -2}, {Account: "m", PendingCredits: -2}}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, c.got, c.want)
		}
	}
}

func TestBalance(t *testing.T) {
	asset := ledger.Balance{Account: ledger.Account{Kind: ledger.Asset},
		PostedDebits: 100, PostedCredits: 30, PendingDebits: 50, PendingCredits: 20}
	if asset.Posted() != 70 || asset.Available() != 50 {
		t.Fatalf("asset posted %d available %d, want 70, 50", asset.Posted(), asset.Available())
	}
	liability := ledger.Balance{Account: ledger.Account{Kind: ledger.Liability},
		PostedDebits: 30, PostedCredits: 100, PendingDebits: 20, PendingCredits: 50}
	if liability.Posted() != 70 || liability.Available() != 50 {
		t.Fatalf("liability posted %d available %d, want 70, 50", liability.Posted(), liability.Available())
	}
	if a := transfer(ledger.Posted, ledger.Dr("a", 3), ledger.Dr("b", 2), ledger.Cr("c", 5)).Amount(); a != 5 {
		t.Fatalf("amount %d, want 5", a)
	}
}

func TestBusinessDay(t *testing.T) {
	for _, c := range []struct {
		at, start string
	}{
		{"2031-02-28T15:59:59Z", "2031-02-28T00:00:00+08:00"},
		{"2031-02-28T16:00:00Z", "2031-03-01T00:00:00+08:00"},
		{"2031-03-01T15:59:59.999999Z", "2031-03-01T00:00:00+08:00"},
		{"2031-03-01T08:00:00+08:00", "2031-03-01T00:00:00+08:00"},
	} {
		at, _ := time.Parse(time.RFC3339Nano, c.at)
		want, _ := time.Parse(time.RFC3339, c.start)
		start, end := ledger.BusinessDay(at)
		if !start.Equal(want) || !end.Equal(want.Add(24*time.Hour)) {
			t.Errorf("BusinessDay(%s) = %s, %s; want %s and a day later", c.at, start, end, want)
		}
	}
}

func TestNewSettlement(t *testing.T) {
	s := ledger.NewSettlement(time.Time{}, map[string]ledger.KindTotal{
		ledger.KindPayment:    {Count: 3, Amount: 30000},
		ledger.KindPaymentFee: {Count: 3, Amount: 180},
		ledger.KindRefund:     {Count: 1, Amount: 5000},
		ledger.KindRefundFee:  {Count: 1, Amount: 30},
		"refund_payout":       {Count: 1, Amount: 5000},
	})
	want := ledger.Settlement{Payments: 3, Paid: 30000, Refunds: 1, Refunded: 5000, Fees: 150, Net: 24850}
	if s != want {
		t.Fatalf("settlement %+v, want %+v", s, want)
	}
}

func TestCapped(t *testing.T) {
	var found []ledger.Breach
	for i := range ledger.MaxBreaches + 1 {
		found = append(found, ledger.Breach{Rule: "r", Ref: fmt.Sprint(i)})
	}
	if got := ledger.Capped("c", found[:ledger.MaxBreaches]); len(got) != ledger.MaxBreaches {
		t.Fatalf("%d breaches kept of %d", len(got), ledger.MaxBreaches)
	}
	got := ledger.Capped("c", found)
	if len(got) != ledger.MaxBreaches+1 || got[ledger.MaxBreaches].Ref != "" || got[ledger.MaxBreaches].Rule != "r" {
		t.Fatalf("capped to %d, last %+v", len(got), got[len(got)-1])
	}
}
