package affiliate

import (
	"time"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Earner is a promoter who earns on an order, at a tier (1 the nearest).
type Earner struct {
	PromoterID string
	Tier       int
}

// Compute is the commissions of a paid order: for each line, its base is
// what the line paid after every discount (shipping is not a line); the
// pool is the base times the sum of the earners' rates, floored to the fen
// and capped at MaxShare of the base, and it is split between the tiers in
// proportion to their rates by largest remainder. So an order's
// commissions never exceed MaxShare of what it paid, and every fen of each
// pool lands with exactly one tier.
func Compute(p Program, rates Rates, o *order.Order, earners []Earner) []Commission {
	if len(earners) == 0 {
		return nil
	}
	var out []Commission
	for _, l := range o.Lines {
		rs := rates.For(l.ProductID, l.SKUID)
		weights := make([]money.Fen, len(earners))
		var sum money.BP
		for i, e := range earners {
			if e.Tier-1 < len(rs) && e.Tier <= p.Tiers {
				weights[i] = money.Fen(rs[e.Tier-1])
				sum += rs[e.Tier-1]
			}
		}
		if sum == 0 || l.Amount <= 0 {
			continue
		}
		pool := floorRate(l.Amount, min(sum, p.MaxShare))
		if pool == 0 {
			continue
		}
		parts := money.Allocate(pool, weights)
		for i, e := range earners {
			if parts[i] == 0 {
				continue
			}
			out = append(out, Commission{
				ID: ids.New(), OrderID: o.ID, LineID: l.ID, BuyerID: o.BuyerID, PromoterID: e.PromoterID,
				Tier: e.Tier, ProductID: l.ProductID, SKUID: l.SKUID, Base: l.Amount, Rate: money.BP(weights[i]),
				Amount: parts[i], State: Pending,
			})
		}
	}
	return out
}

// floorRate is rate of f, rounded down: a commission is never rounded up
// past the share the program allows.
func floorRate(f money.Fen, rate money.BP) money.Fen {
	return money.Fen(int64(f) * int64(rate) / int64(money.Whole))
}

// ceilShare is ceil(amount * part / whole) for 0 <= part <= whole, whole > 0.
func ceilShare(amount, part, whole money.Fen) money.Fen {
	n := int64(amount) * int64(part)
	q := n / int64(whole)
	if n%int64(whole) != 0 {
		q++
	}
	return money.Fen(q)
}

// RefundedLine is how much of one order line a refund gave back.
type RefundedLine struct {
	LineID string
	Amount money.Fen
}

// Refunded works out, from a refund, how much of each line's base is now
// refunded in all. lines are the refund's own lines; full says nothing of
// the order is left paid; amount is the refund's amount less its shipping,
// spread over the lines' unrefunded bases by largest remainder when the
// refund names no lines.
func Refunded(cs []Commission, lines []RefundedLine, amount money.Fen, full bool) map[string]money.Fen {
	base, done := map[string]money.Fen{}, map[string]money.Fen{}
	var order []string
	for _, c := range cs {
		if _, ok := base[c.LineID]; !ok {
			order = append(order, c.LineID)
		}
		base[c.LineID], done[c.LineID] = c.Base, c.Refunded
	}
	out := map[string]money.Fen{}
	switch {
	case full:
		for id, b := range base {
			out[id] = b
		}
	case len(lines) > 0:
		for _, l := range lines {
			if b, ok := base[l.LineID]; ok {
				out[l.LineID] = min(b, done[l.LineID]+l.Amount)
			}
		}
	case amount > 0:
		left := make([]money.Fen, len(order))
		var total money.Fen
		for i, id := range order {
			left[i] = base[id] - done[id]
			total += left[i]
		}
		parts := money.Allocate(min(amount, total), left)
		for i, id := range order {
			out[id] = done[id] + parts[i]
		}
	}
	return out
}

// Reverse applies a refund to an order's commissions: a commission whose
// line is now refunded r of its base B is worth Amount*(B-r)/B, rounded
// down, so what is taken back in all is Amount*r/B rounded up. The
// promoter never keeps more than the program's share of what still stands,
// and a full refund takes everything. What is taken back comes out of the
// pending part first (a reversal) and, once settled, out of the promoter's
// account (a clawback). It returns the commissions it changed and their
// transfers: one reversal, one clawback, keyed by the refund.
func Reverse(cs []Commission, refunded map[string]money.Fen, refundID, orderID string) ([]Commission, []ledger.Transfer) {
	var changed []Commission
	var reversed money.Fen
	claw := map[string]money.Fen{}
	var clawOrder []string
	for _, c := range cs {
		r, ok := refunded[c.LineID]
		if !ok || r <= c.Refunded {
			continue
		}
		c.Refunded = min(r, c.Base)
		take := ceilShare(c.Amount, c.Refunded, c.Base) - c.Reversed - c.ClawedBack
		if take > 0 {
			fromPending := min(take, c.Open())
			c.Reversed += fromPending
			reversed += fromPending
			if rest := take - fromPending; rest > 0 {
				c.ClawedBack += rest
				if claw[c.PromoterID] == 0 {
					clawOrder = append(clawOrder, c.PromoterID)
				}
				claw[c.PromoterID] += rest
			}
		}
		if c.State == Pending && c.Open() == 0 && c.Settled == 0 {
			c.State = Reversed
		}
		changed = append(changed, c)
	}
	var ts []ledger.Transfer
	if reversed > 0 {
		ts = append(ts, ledger.Transfer{ID: KindReversal + ":" + refundID, Kind: KindReversal, Ref: orderID, State: ledger.Posted,
			Entries: []ledger.Entry{ledger.Dr(PendingAccount, reversed), ledger.Cr(ExpenseAccount, reversed)}})
	}
	if len(clawOrder) > 0 {
		var total money.Fen
		var es []ledger.Entry
		for _, p := range clawOrder {
			es = append(es, ledger.Dr(Account(p), claw[p]))
			total += claw[p]
		}
		ts = append(ts, ledger.Transfer{ID: KindClawback + ":" + refundID, Kind: KindClawback, Ref: orderID, State: ledger.Posted,
			Entries: append(es, ledger.Cr(ExpenseAccount, total))})
	}
	return changed, ts
}

// Settle moves what is still pending of commissions (of one sale or of a
// batch of sales settled together) to their promoters' accounts, in one
// transfer with one credit per promoter: id keys it, ref names what it
// settles. A batch is one transfer rather than one per sale because the
// sales' rows and the transfer commit together, so the rows already say
// which sales it settled, and a sweep of 100,000 sales then writes 200
// transfers, not 100,000.
func Settle(cs []Commission, id, ref string, at time.Time) ([]Commission, []ledger.Transfer) {
	var changed []Commission
	credit := map[string]money.Fen{}
	var promoters []string
	var total money.Fen
	for _, c := range cs {
		if c.State != Pending {
			continue
		}
		open := c.Open()
		c.Settled += open
		c.State, c.SettledAt = Settled, &at
		if open == 0 {
			c.State = Reversed
		}
		if open > 0 {
			if credit[c.PromoterID] == 0 {
				promoters = append(promoters, c.PromoterID)
			}
			credit[c.PromoterID] += open
			total += open
		}
		changed = append(changed, c)
	}
	if total == 0 {
		return changed, nil
	}
	es := []ledger.Entry{ledger.Dr(PendingAccount, total)}
	for _, p := range promoters {
		es = append(es, ledger.Cr(Account(p), credit[p]))
	}
	return changed, []ledger.Transfer{{ID: KindSettle + ":" + id, Kind: KindSettle, Ref: ref,
		State: ledger.Posted, Entries: es, CreatedAt: at}}
}

// Accrual is the transfer that books an order's commissions as pending.
func Accrual(cs []Commission, orderID string) []ledger.Transfer {
	var total money.Fen
	for _, c := range cs {
		total += c.Amount
	}
	if total == 0 {
		return nil
	}
	return []ledger.Transfer{{ID: KindAccrual + ":" + orderID, Kind: KindAccrual, Ref: orderID, State: ledger.Posted,
		Entries: []ledger.Entry{ledger.Dr(ExpenseAccount, total), ledger.Cr(PendingAccount, total)}}}
}
