package refund

import (
	"time"

	"github.com/siyu-commerce/siyu/internal/ledger"
)

// A refund's money on the ledger, A its amount and F the fee it returns:
//
//	intent   "refund:<id>"         pending   Dr revenue:merchant A  / Cr refunds:payable A
//	success  "refund:<id>"         posted
//	         "refund_payout:<id>"  posted    Dr refunds:payable A   / Cr clearing:wechat A
//	         "refund_fee:<id>"     posted    Dr clearing:wechat F   / Cr fees:platform F
//	closed   "refund:<id>"         voided
//
// The refund transfer is pending while the refund is in flight: refunds
// payable shows what is promised back and not confirmed, and the revenue it
// will cost is held (a pending outflow counts against an account's
// available balance). It is the one "refund" transfer of the refund, the one
// the ledger's checks and the daily settlement count: not voided, it counts
// against what the order paid; posted, it counts on the day the platform
// confirmed it. A closed refund just voids it, so no reversal is needed and
// nothing closed is ever counted as refunded.
//
// The payout leaves clearing only on success, together with the fee the
// platform returns: posting both in one write keeps clearing from going
// below zero on a full refund, whose amount is more than the payment left
// in clearing after its fee.
const (
	kindPayout = "refund_payout"
)

func intentTransfer(r *Refund, at time.Time) ledger.Transfer {
	return ledger.Transfer{
		ID: ledger.RefundID(r.ID), Kind: ledger.KindRefund, Ref: r.OrderID, State: ledger.Pending, CreatedAt: at,
		Entries: []ledger.Entry{ledger.Dr(ledger.MerchantRevenue, r.Amount), ledger.Cr(ledger.RefundsPayable, r.Amount)},
	}
}

func payoutTransfers(r *Refund, at time.Time) []ledger.Transfer {
	out := []ledger.Transfer{{
		ID: kindPayout + ":" + r.ID, Kind: kindPayout, Ref: r.OrderID, State: ledger.Posted, CreatedAt: at,
		Entries: []ledger.Entry{ledger.Dr(ledger.RefundsPayable, r.Amount), ledger.Cr(ledger.ClearingWeChat, r.Amount)},
	}}
	if r.Fee > 0 {
		out = append(out, ledger.Transfer{
			ID: ledger.RefundFeeID(r.ID), Kind: ledger.KindRefundFee, Ref: r.OrderID, State: ledger.Posted, CreatedAt: at,
			Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, r.Fee), ledger.Cr(ledger.PlatformFees, r.Fee)},
		})
	}
	return out
}
