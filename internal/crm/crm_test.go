package crm

import (
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/siyu-commerce/siyu/internal/errs"
)

func TestQuintile(t *testing.T) {
	cases := []struct{ rank, n, want int }{
		{1, 10, 1}, {2, 10, 1}, {3, 10, 2}, {4, 10, 2}, {5, 10, 3}, {9, 10, 5}, {10, 10, 5},
		{1, 1, 1}, {1, 3, 1}, {2, 3, 2}, {3, 3, 4}, // few buyers: scores spread, never above 5
		{1, 7, 1}, {7, 7, 5}, {0, 10, 0}, {1, 0, 0},
	}
	for _, c := range cases {
		if got := Quintile(c.rank, c.n); got != c.want {
			t.Errorf("Quintile(%d, %d) = %d, want %d", c.rank, c.n, got, c.want)
		}
	}
}

func TestCellOf(t *testing.T) {
	// Every scored (R, F) pair has a named cell.
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			if CellOf(RFM{R: r, F: f}) == NoOrders {
				t.Errorf("R%d F%d has no cell", r, f)
			}
		}
	}
	cases := map[RFM]Cell{
		{R: 5, F: 5}: Champions, {R: 5, F: 4}: Champions, {R: 4, F: 5}: LoyalCustomers, {R: 3, F: 4}: LoyalCustomers,
		{R: 5, F: 1}: NewCustomers, {R: 4, F: 1}: Promising, {R: 5, F: 3}: PotentialLoyalist, {R: 4, F: 2}: PotentialLoyalist,
		{R: 3, F: 3}: NeedAttention, {R: 3, F: 2}: AboutToSleep, {R: 2, F: 4}: AtRisk, {R: 1, F: 3}: AtRisk,
		{R: 1, F: 5}: CantLose, {R: 2, F: 2}: Hibernating, {R: 1, F: 1}: Hibernating, {}: NoOrders,
	}
	for in, want := range cases {
		if got := CellOf(in); got != want {
			t.Errorf("CellOf(%+v) = %q, want %q", in, got, want)
		}
	}
}

func TestCompile(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	last := now.AddDate(0, 0, -40)
	p := Row{BuyerID: "b", Layer: Silent, RFM: RFM{R: 2, F: 4, M: 5}, City: "杭州市", Spent: 600000, Orders: 7,
		LastOrderAt: &last, RegisteredAt: now.AddDate(-1, 0, 0), LastLoginAt: now.AddDate(0, 0, -31), Tags: []string{"vip"}}.Profile(now)
	var m vm.VM
	for src, want := range map[string]bool{
		`layer == "silent" && rfm.m >= 4 && city == "杭州市"`: true,
		`cell == "at_risk" && days_since_last_order == 40`: true,
		`"vip" in tags && total_spent >= 500000`:           true,
		`days_since_login < 30 || order_count > 7`:         false,
	} {
		prog, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := prog.Match(&m, &p); got != want {
			t.Errorf("%s = %v, want %v", src, got, want)
		}
	}
	for src, msg := range map[string]string{
		`layer == 3`:              "mismatched types",
		`rfm.m`:                   "bool",
		`layer == "x" && cityy`:   "unknown name cityy",
		`(layer == "x"`:           "unexpected",
		strings.Repeat("a", 2001): "at most",
	} {
		_, err := Compile(src)
		e, ok := errs.As(err)
		if !ok || e.Field != "expr" || !strings.Contains(e.Message, msg) {
			t.Errorf("Compile(%.30q) = %v, want a message with %q", src, err, msg)
		}
	}
}

func TestRulesCheck(t *testing.T) {
	if err := DefaultRules.Check(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultRules
	bad.NewDays, bad.LoyalSpent = 0, 0
	if got := len(errs.Fields(bad.Check())); got != 2 {
		t.Fatalf("two bad fields reported as %d", got)
	}
}
