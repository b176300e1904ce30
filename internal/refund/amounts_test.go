package refund_test

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// position is an order of lines (amount, qty) and shipping, paid in full
// with a fee, nothing refunded.
func position(shipping, fee money.Fen, lines ...[2]int64) *refund.Position {
	p := &refund.Position{Shipping: shipping}
	paid := shipping
	for i, l := range lines {
		p.Lines = append(p.Lines, refund.PositionLine{
			OrderLineID: fmt.Sprintf("line-%d", i), SKUID: fmt.Sprintf("sku-%d", i), Amount: money.Fen(l[0]), Qty: int(l[1]),
		})
		paid += money.Fen(l[0])
	}
	p.Paid = refund.Paid{Amount: paid, Fee: fee}
	return p
}

// hold and release do to a position what the stores do when a refund is
// recorded and when it closes.
func hold(p *refund.Position, q refund.Quote) {
	p.Refunded += q.Amount
	p.RefundedFee += q.Fee
	p.ShippingRefunded += q.Shipping
	p.Count++
	for _, l := range q.Lines {
		pl := line(p, l.OrderLineID)
		pl.RefundedQty += l.Qty
		pl.RefundedAmount += l.Amount
	}
}

func release(p *refund.Position, q refund.Quote) {
	p.Refunded -= q.Amount
	p.RefundedFee -= q.Fee
	p.ShippingRefunded -= q.Shipping
	for _, l := range q.Lines {
		pl := line(p, l.OrderLineID)
		pl.RefundedQty -= l.Qty
		pl.RefundedAmount -= l.Amount
	}
}

func line(p *refund.Position, id string) *refund.PositionLine {
	for i := range p.Lines {
		if p.Lines[i].OrderLineID == id {
			return &p.Lines[i]
		}
	}
	panic("no line " + id)
}

func one(id string, qty int) []refund.LineQty {
	return []refund.LineQty{{OrderLineID: id, Qty: qty}}
}

func TestQuoteUnitByUnit(t *testing.T) {
	// A line of 3 units that paid 1000 after its share of a discount:
	// 333, 333, 334; the last unit of the order brings the shipping back.
	p := position(800, 11, [2]int64{1000, 3}, [2]int64{500, 1})
	var got []money.Fen
	var total money.Fen
	for i := 0; i < 3; i++ {
		q, err := p.Quote(one("line-0", 1))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, q.Lines[0].Amount)
		total += q.Amount
		hold(p, q)
	}
	if fmt.Sprint(got) != "[3.33 3.33 3.34]" || total != 1000 {
		t.Fatalf("unit amounts %v (total %s); want [3.33 3.33 3.34], 10.00", got, total)
	}
	q, err := p.Quote(one("line-0", 1))
	if e, ok := errs.As(err); !ok || e.Code != refund.CodeExceedsQty {
		t.Fatalf("fourth unit of three: %+v, %v; want %s", q, err, refund.CodeExceedsQty)
	}
	q, err = p.Quote(one("line-1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if q.Shipping != 800 || q.Amount != 1300 || !q.Full {
		t.Fatalf("last unit: %+v; want shipping 800, amount 1300, full", q)
	}
	hold(p, q)
	if p.RefundedFee != 11 || p.Refunded != p.Paid.Amount {
		t.Fatalf("after everything: refunded %s of %s, fee %s of 11", p.Refunded, p.Paid.Amount, p.RefundedFee)
	}
}

func TestQuoteRefusals(t *testing.T) {
	cases := []struct {
		name string
		p    *refund.Position
		req  []refund.LineQty
		code string
	}{
		{"no lines", position(0, 0, [2]int64{100, 1}), nil, "required"},
		{"unknown line", position(0, 0, [2]int64{100, 1}), one("nope", 1), "order_line_not_found"},
		{"zero units", position(0, 0, [2]int64{100, 1}), one("line-0", 0), "qty_out_of_range"},
		{"more units than the line", position(0, 0, [2]int64{100, 2}), one("line-0", 3), refund.CodeExceedsQty},
		{"a free line", position(0, 0, [2]int64{0, 2}, [2]int64{100, 1}), one("line-0", 1), refund.CodeZeroAmount},
		{"the same line twice", position(0, 0, [2]int64{100, 2}),
			[]refund.LineQty{{OrderLineID: "line-0", Qty: 1}, {OrderLineID: "line-0", Qty: 1}}, "duplicate_line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := c.p.Quote(c.req)
			if e, ok := errs.As(err); !ok || e.Code != c.code {
				t.Fatalf("Quote = %+v, %v; want code %s", q, err, c.code)
			}
		})
	}
	t.Run("more than is left of the payment", func(t *testing.T) {
		p := position(0, 0, [2]int64{100, 2})
		p.Refunded = 150 // held by another refund, say of a renegotiated line
		if _, err := p.Quote(one("line-0", 1)); !errs.Is(err, refund.CodeExceedsPaid) {
			t.Fatalf("err = %v; want %s", err, refund.CodeExceedsPaid)
		}
	})
}

// TestQuoteProperty drives random sequences of partial refunds and closed
// refunds against one position and checks, after every step, that what
// live refunds hold never exceeds what a line or the payment paid, and that
// once every unit is refunded the refunds add up to exactly what was paid,
// line by line, with the fee and the shipping returned exactly once. With
// no closure in the sequence, each amount is the formula of the design:
// floor(A*(r+k)/Q) - floor(A*r/Q).
func TestQuoteProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "lines")
		var lines [][2]int64
		for i := 0; i < n; i++ {
			lines = append(lines, [2]int64{
				rapid.Int64Range(0, 5_000_000).Draw(t, "amount"),
				rapid.Int64Range(1, 12).Draw(t, "qty"),
			})
		}
		shipping := money.Fen(rapid.Int64Range(0, 2000).Draw(t, "shipping"))
		p := position(shipping, 0, lines...)
		if p.Paid.Amount == 0 {
			t.Skip("nothing paid")
		}
		p.Paid.Fee = money.Fen(rapid.Int64Range(0, int64(p.Paid.Amount)).Draw(t, "fee"))
		orig := make([]refund.PositionLine, len(p.Lines))
		copy(orig, p.Lines)

		var live []refund.Quote
		closed := false
		for step := 0; step < 60; step++ {
			if len(live) > 0 && rapid.IntRange(0, 4).Draw(t, "close?") == 0 {
				i := rapid.IntRange(0, len(live)-1).Draw(t, "which")
				release(p, live[i])
				live = append(live[:i], live[i+1:]...)
				closed = true
				continue
			}
			var open []int
			for i, pl := range p.Lines {
				if pl.RefundedQty < pl.Qty {
					open = append(open, i)
				}
			}
			if len(open) == 0 {
				break
			}
			pl := p.Lines[open[rapid.IntRange(0, len(open)-1).Draw(t, "line")]]
			k := rapid.IntRange(1, pl.Qty-pl.RefundedQty).Draw(t, "units")
			q, err := p.Quote(one(pl.OrderLineID, k))
			if errs.Is(err, refund.CodeZeroAmount) {
				continue
			}
			if err != nil {
				t.Fatalf("Quote %d of %+v: %v", k, pl, err)
			}
			if a := q.Lines[0].Amount; a < 0 {
				t.Fatalf("negative amount %s", a)
			}
			if !closed {
				want := pl.Amount*money.Fen(pl.RefundedQty+k)/money.Fen(pl.Qty) - pl.Amount*money.Fen(pl.RefundedQty)/money.Fen(pl.Qty)
				if q.Lines[0].Amount != want {
					t.Fatalf("%d units after %d of %+v: %s; want %s", k, pl.RefundedQty, pl, q.Lines[0].Amount, want)
				}
			}
			hold(p, q)
			live = append(live, q)
			checkHeld(t, p, live)
		}
		// Refund whatever is left, then everything must add up exactly.
		if rest := p.Everything(); len(rest) > 0 {
			q, err := p.Quote(rest)
			if err != nil && !errs.Is(err, refund.CodeZeroAmount) {
				t.Fatalf("the rest: %v", err)
			}
			if err == nil {
				hold(p, q)
				live = append(live, q)
			}
		}
		checkHeld(t, p, live)
		if p.Refunded != p.Paid.Amount {
			t.Fatalf("all units refunded for %s of %s paid", p.Refunded, p.Paid.Amount)
		}
		for i, pl := range p.Lines {
			if pl.RefundedQty == pl.Qty && pl.RefundedAmount != orig[i].Amount {
				t.Fatalf("line %d fully refunded for %s; it paid %s", i, pl.RefundedAmount, orig[i].Amount)
			}
		}
		if p.Refunded == p.Paid.Amount && p.RefundedFee != p.Paid.Fee {
			t.Fatalf("fully refunded; fee returned %s of %s", p.RefundedFee, p.Paid.Fee)
		}
	})
}

// checkHeld checks that the live refunds add up to what the position holds
// and stay within what was paid.
func checkHeld(t *rapid.T, p *refund.Position, live []refund.Quote) {
	var amount, fee, shipping money.Fen
	byLine := map[string]money.Fen{}
	for _, q := range live {
		amount += q.Amount
		fee += q.Fee
		shipping += q.Shipping
		for _, l := range q.Lines {
			byLine[l.OrderLineID] += l.Amount
		}
	}
	if amount != p.Refunded || fee != p.RefundedFee || shipping != p.ShippingRefunded {
		t.Fatalf("live refunds %s/%s/%s; position holds %s/%s/%s", amount, fee, shipping, p.Refunded, p.RefundedFee, p.ShippingRefunded)
	}
	if amount > p.Paid.Amount || fee > p.Paid.Fee || shipping > p.Shipping || (shipping > 0 && shipping != p.Shipping) {
		t.Fatalf("refunds hold %s (fee %s, shipping %s) of %s paid (fee %s, shipping %s)", amount, fee, shipping, p.Paid.Amount, p.Paid.Fee, p.Shipping)
	}
	for _, pl := range p.Lines {
		if byLine[pl.OrderLineID] != pl.RefundedAmount || pl.RefundedAmount > pl.Amount {
			t.Fatalf("line %s: refunds hold %s, position %s, paid %s", pl.OrderLineID, byLine[pl.OrderLineID], pl.RefundedAmount, pl.Amount)
		}
	}
}

// TestAdjust: a price adjustment gives money back on the lines, no units,
// split by what each line has left; a later refund of every unit gives back
// exactly the rest of what the buyer paid, so adjustment and refund add up
// to the payment.
func TestAdjust(t *testing.T) {
	p := position(500, 60, [2]int64{3000, 2}, [2]int64{1000, 1})
	q, err := p.Adjust(400)
	if err != nil {
		t.Fatal(err)
	}
	if q.Amount != 400 || q.Shipping != 0 || q.Full || len(q.Lines) != 2 {
		t.Fatalf("adjust quote = %+v", q)
	}
	if q.Lines[0].Qty != 0 || q.Lines[0].Amount != 300 || q.Lines[1].Amount != 100 {
		t.Fatalf("adjust lines = %+v; want 300 and 100, no units", q.Lines)
	}
	hold(p, q)
	rest, err := p.Quote(p.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Amount + rest.Amount; got != p.Paid.Amount {
		t.Fatalf("adjustment %s + refund %s = %s; want the payment %s", q.Amount, rest.Amount, got, p.Paid.Amount)
	}
	if !rest.Full || q.Fee+rest.Fee != 60 {
		t.Fatalf("rest = %+v; want full, fees adding up to 60", rest)
	}

	for _, c := range []struct {
		name   string
		amount money.Fen
		code   string
	}{
		{"zero", 0, refund.CodeZeroAmount},
		{"more than the lines", 4001, refund.CodeExceedsPaid},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := position(500, 0, [2]int64{3000, 2}, [2]int64{1000, 1})
			if _, err := p.Adjust(c.amount); !errs.Is(err, c.code) {
				t.Fatalf("Adjust(%s) = %v; want %s", c.amount, err, c.code)
			}
		})
	}
	t.Run("the whole price of the goods", func(t *testing.T) {
		p := position(0, 0, [2]int64{3000, 1})
		q, err := p.Adjust(3000)
		if err != nil || !q.Full || q.Amount != 3000 {
			t.Fatalf("Adjust(all) = %+v, %v", q, err)
		}
	})
}
