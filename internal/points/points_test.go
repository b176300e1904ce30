package points

import (
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

func TestEarned(t *testing.T) {
	c := DefaultConfig // 100 bp: 1 point per 100 yuan
	for _, tc := range []struct {
		paid money.Fen
		want int64
	}{
		{0, 0}, {9999, 0}, {10000, 1}, {19999, 1}, {19950, 1}, {1_000_000, 100},
	} {
		if got := c.Earned(tc.paid); got != tc.want {
			t.Errorf("Earned(%d) = %d, want %d", tc.paid, got, tc.want)
		}
	}
	if Value(3) != 300 {
		t.Fatalf("a point must be worth a yuan (100 fen), got %d", Value(1))
	}
}

// TestRefundShares: partial refunds take back and return in proportion,
// and however a payment is refunded piece by piece, the full refund ends
// with everything earned taken back and everything spent returned.
func TestRefundShares(t *testing.T) {
	op := OrderPoints{Paid: 10000, Earned: 10, Spent: 4}
	claw, ret := RefundShares(op, 2500, false)
	if claw != 3 || ret != 1 {
		t.Fatalf("quarter refund: claw %d ret %d, want 3 1", claw, ret)
	}
	// Points spent by an order that closed unpaid came back at the close:
	// money captured after it and refunded returns none again.
	op.SpendVoided = true
	if claw, ret := RefundShares(op, 10000, true); claw != 10 || ret != 0 {
		t.Fatalf("voided spend: claw %d ret %d, want 10 0", claw, ret)
	}
	for _, step := range []money.Fen{1, 7, 333, 1000, 2500, 3333} {
		op := OrderPoints{Paid: 10000, Earned: 17, Spent: 23}
		var refunded money.Fen
		for refunded < op.Paid {
			amt := min(step, op.Paid-refunded)
			refunded += amt
			c, r := RefundShares(op, refunded, refunded == op.Paid)
			if c < 0 || r < 0 {
				t.Fatalf("step %d: negative share %d %d", step, c, r)
			}
			op.Clawed += c
			op.Returned += r
			op.Refunded = refunded
			if op.Clawed > op.Earned || op.Returned > op.Spent {
				t.Fatalf("step %d: past the order: %+v", step, op)
			}
		}
		if op.Clawed != op.Earned || op.Returned != op.Spent {
			t.Fatalf("step %d: after the full refund %+v", step, op)
		}
	}
}

var testTime = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

func TestTransfersBalance(t *testing.T) {
	for _, k := range []string{KindEarn, KindSpend, KindReturn, KindClaw, KindExpire} {
		tr := Transfer(k, "x", "o", 7, "posted", testTime)
		if len(tr.Entries) != 2 || tr.Entries[0].Amount != 700 || tr.Entries[1].Amount != 700 ||
			tr.Entries[0].Account == "" || tr.Entries[1].Account == "" || tr.Entries[0].Account == tr.Entries[1].Account {
			t.Errorf("%s: %+v", k, tr)
		}
	}
}
