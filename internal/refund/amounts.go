package refund

import (
	"fmt"
	"math/bits"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// Quote is what refunding some units now gives back.
type Quote struct {
	Lines    []Line
	Shipping money.Fen
	Amount   money.Fen // the lines' amounts and the shipping
	Fee      money.Fen // the platform's fee share that comes back with it
	Full     bool      // nothing of the payment is left after it
}

// Quote prices a refund of the units asked for against what is refunded
// already.
//
// A line that paid A for Q units, r of them refunded for RA so far, gives
// back for k more units
//
//	floor(A*(r+k)/Q) - RA
//
// Without a closed refund in between, RA is floor(A*r/Q) (by induction from
// r = 0), so this is floor(A*(r+k)/Q) - floor(A*r/Q): each refund takes the
// next slice of a cumulative allocation, the slices of any sequence of
// partial refunds add up to exactly A once all Q units are refunded, and no
// prefix ever takes more than its share. Measuring against RA, what is
// really held by live refunds, keeps that true when a closed refund gave
// back units out of order: RA never exceeds A, and the refund that takes the
// last unit takes exactly what is left. The amount is never below zero (a
// unit refunded after a closure may cost nothing if an earlier live refund
// already holds its share).
//
// Shipping goes back with the order's last unit, once. The platform's fee
// comes back in the same cumulative way over the payment: floor(F*(R+x)/P)
// less the fee already held, so the fee returned over a full refund is
// exactly the fee paid.
func (p *Position) Quote(req []LineQty) (Quote, error) {
	var (
		q     Quote
		l     errs.List
		after = make(map[string]int, len(p.Lines)) // refunded units once this refund is made
	)
	if len(req) == 0 {
		return Quote{}, errs.Field("lines", "required", "name the lines and units to refund")
	}
	for _, pl := range p.Lines {
		after[pl.OrderLineID] = pl.RefundedQty
	}
	seen := make(map[string]bool, len(req))
	for i, want := range req {
		field := fmt.Sprintf("lines[%d]", i)
		pl := p.line(want.OrderLineID)
		switch {
		case pl == nil:
			l.Add(field+".order_line_id", "order_line_not_found", "no line %q in the order", want.OrderLineID)
			continue
		case seen[want.OrderLineID]:
			l.Add(field+".order_line_id", "duplicate_line", "line %s is asked for twice", want.OrderLineID)
			continue
		case want.Qty < 1:
			l.Add(field+".qty", "qty_out_of_range", "refund at least one unit")
			continue
		case pl.RefundedQty+want.Qty > pl.Qty:
			l = append(l, &errs.Error{Kind: errs.Conflict, Code: CodeExceedsQty, Field: field + ".qty",
				Message: fmt.Sprintf("only %d of %d units of the line are left to refund", pl.Qty-pl.RefundedQty, pl.Qty)})
			continue
		}
		seen[want.OrderLineID] = true
		amount := max(0, mulDiv(pl.Amount, pl.RefundedQty+want.Qty, pl.Qty)-pl.RefundedAmount)
		q.Lines = append(q.Lines, Line{OrderLineID: pl.OrderLineID, SKUID: pl.SKUID, Qty: want.Qty, Amount: amount})
		q.Amount += amount
		after[want.OrderLineID] += want.Qty
	}
	if err := l.Err(); err != nil {
		return Quote{}, err
	}
	last := true
	for _, pl := range p.Lines {
		last = last && after[pl.OrderLineID] == pl.Qty
	}
	if last {
		q.Shipping = p.Shipping - p.ShippingRefunded
		q.Amount += q.Shipping
	}
	return p.finish(q)
}

// Remainder is a refund of everything left of the payment, with no lines:
// for money that arrived for an order that had already closed, whose lines
// were never sold.
func (p *Position) Remainder() (Quote, error) {
	return p.finish(Quote{Amount: p.Paid.Amount - p.Refunded})
}

// Adjust is a refund of amount off the lines' price, taking back no unit:
// split across the lines by what each has left, by largest remainder. The
// lines' refunded amounts grow by it, so a later refund of their units
// gives back only what the buyer paid net of it (the last unit of a line
// takes exactly what is left). Shipping is not part of a price.
func (p *Position) Adjust(amount money.Fen) (Quote, error) {
	if amount <= 0 {
		return Quote{}, ErrZeroAmount
	}
	left := make([]money.Fen, len(p.Lines))
	var total money.Fen
	for i, pl := range p.Lines {
		if pl.RefundedQty < pl.Qty {
			left[i] = max(0, pl.Amount-pl.RefundedAmount)
		}
		total += left[i]
	}
	if amount > total {
		return Quote{}, &errs.Error{Kind: errs.Conflict, Code: CodeExceedsPaid,
			Message: fmt.Sprintf("an adjustment of %s exceeds the %s the lines have left", amount, total)}
	}
	var q Quote
	for i, part := range money.Allocate(amount, left) {
		if part > 0 {
			pl := p.Lines[i]
			q.Lines = append(q.Lines, Line{OrderLineID: pl.OrderLineID, SKUID: pl.SKUID, Amount: part})
			q.Amount += part
		}
	}
	return p.finish(q)
}

// Everything is the units of every line not refunded yet.
func (p *Position) Everything() []LineQty {
	var out []LineQty
	for _, pl := range p.Lines {
		if left := pl.Qty - pl.RefundedQty; left > 0 {
			out = append(out, LineQty{OrderLineID: pl.OrderLineID, Qty: left})
		}
	}
	return out
}

// finish checks the amount against the payment and adds the fee share.
func (p *Position) finish(q Quote) (Quote, error) {
	if q.Amount <= 0 {
		return Quote{}, ErrZeroAmount
	}
	left := p.Paid.Amount - p.Refunded
	if q.Amount > left {
		return Quote{}, &errs.Error{Kind: errs.Conflict, Code: CodeExceedsPaid,
			Message: fmt.Sprintf("the refund of %s exceeds the %s left of the payment", q.Amount, max(left, 0))}
	}
	if p.Paid.Fee > 0 {
		upto := mulDivFen(p.Paid.Fee, p.Refunded+q.Amount, p.Paid.Amount)
		q.Fee = min(max(0, upto-p.RefundedFee), p.Paid.Fee-p.RefundedFee)
	}
	q.Full = p.Refunded+q.Amount == p.Paid.Amount
	return q, nil
}

func (p *Position) line(id string) *PositionLine {
	for i := range p.Lines {
		if p.Lines[i].OrderLineID == id {
			return &p.Lines[i]
		}
	}
	return nil
}

// mulDiv is floor(a*n/d) for a line's amount a and units n <= d.
func mulDiv(a money.Fen, n, d int) money.Fen { return mulDivFen(a, money.Fen(n), money.Fen(d)) }

// mulDivFen is floor(a*b/c) for 0 <= a, 0 <= b <= c, c > 0, computed in 128
// bits: a fee times a refunded total overflows int64 once both pass about
// 3e9 fen (30 million yuan), which a wholesale order can reach. b <= c keeps
// the quotient within a, so it cannot overflow.
func mulDivFen(a, b, c money.Fen) money.Fen {
	if a <= 0 || b <= 0 || c <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	quo, _ := bits.Div64(hi, lo, uint64(c))
	return money.Fen(quo)
}
