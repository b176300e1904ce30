package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

type refundBody struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	Amount        struct {
		Refund   money.Fen `json:"refund"`
		Total    money.Fen `json:"total"`
		Currency string    `json:"currency"`
	} `json:"amount"`
}

func (p *Pay) createRefund(_ *http.Request, body []byte) (int, any) {
	var in refundBody
	if err := json.Unmarshal(body, &in); err != nil {
		return fail(http.StatusBadRequest, "PARAM_ERROR", "the body is not valid JSON")
	}
	switch {
	case in.OutRefundNo == "" || len(in.OutRefundNo) > 64:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "out_refund_no must be 1 to 64 characters")
	case in.Amount.Refund <= 0:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "amount.refund must be at least 1 fen")
	case in.Amount.Currency != "CNY":
		return fail(http.StatusBadRequest, "PARAM_ERROR", "amount.currency must be CNY")
	case len(in.Reason) > 80:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "reason must be at most 80 bytes")
	case in.NotifyURL != "" && !httpsOnly(in.NotifyURL):
		return fail(http.StatusBadRequest, "PARAM_ERROR", "notify_url must be an https URL")
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.byTrade[in.OutTradeNo]
	if in.TransactionID != "" {
		t = p.byTxID[in.TransactionID]
	}
	if t == nil {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "no such order")
	}
	if r := p.refunds[in.OutRefundNo]; r != nil {
		// out_refund_no is the idempotency key: a retry gets the refund the
		// first request made, and never a second refund.
		if r.tx != t || r.amount != in.Amount.Refund {
			return fail(http.StatusBadRequest, "INVALID_REQUEST", "out_refund_no was used with other parameters")
		}
		return http.StatusOK, p.refundJSON(r)
	}
	now := p.now()
	var refunded money.Fen
	for _, r := range t.refunds {
		// An ABNORMAL refund's money has left the merchant account; only a
		// closed one gave it back.
		if r.status != refundClosed {
			refunded += r.amount
		}
	}
	switch {
	case t.state != stateSuccess && t.state != stateRefund:
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "the order is not paid")
	case in.Amount.Total != t.total:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "amount.total does not match the order")
	case now.Sub(t.paid) > refundWindow:
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "the order was paid more than 365 days ago")
	case len(t.refunds) >= maxRefunds:
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "an order takes at most %d refunds", maxRefunds)
	case refunded+in.Amount.Refund > t.total:
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "the refund exceeds what is left to refund (%d fen)", t.total-refunded)
	}
	p.seq++
	r := &refundRec{
		outRefundNo: in.OutRefundNo, reason: in.Reason, notifyURL: in.NotifyURL, tx: t,
		amount: in.Amount.Refund, status: refundProcessing, created: now.Truncate(time.Second),
		refundID: fmt.Sprintf("5030%s%017d", now.In(chinaTime).Format("20060102"), p.seq),
	}
	p.refunds[r.outRefundNo] = r
	t.refunds = append(t.refunds, r)
	p.spawnLocked(func() { p.finishRefund(r) })
	return http.StatusOK, p.refundJSON(r)
}

func (p *Pay) queryRefund(r *http.Request, _ []byte) (int, any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := p.refunds[r.PathValue("no")]
	if rec == nil {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "no such refund")
	}
	return http.StatusOK, p.refundJSON(rec)
}

// finishRefund ends a refund after the configured delay, SUCCESS, or as
// its faults say ABNORMAL or CLOSED, and sends its callback.
func (p *Pay) finishRefund(r *refundRec) {
	if !p.sleep(p.cfg.RefundDelay) {
		return
	}
	p.mu.Lock()
	var event string
	switch f := p.faultsLocked(r.tx.outTradeNo, r.outRefundNo); {
	case f.FailRefund:
		r.status, event = refundAbnormal, eventRefundAbnormal
	case f.CloseRefund:
		r.status, event = refundClosed, eventRefundClosed
	default:
		r.status, event, r.succeeded = refundSuccess, eventRefundSuccess, p.now().Truncate(time.Second)
		r.tx.state = stateRefund
	}
	var n *notice
	if r.notifyURL != "" {
		n = p.notice(event, r.tx.outTradeNo, r.outRefundNo, r.notifyURL, "refund", p.refundResource(r))
	}
	p.mu.Unlock()
	if n != nil {
		p.emit(n)
	}
}

type refundAmount struct {
	Total            money.Fen `json:"total"`
	Refund           money.Fen `json:"refund"`
	From             []any     `json:"from"`
	PayerTotal       money.Fen `json:"payer_total"`
	PayerRefund      money.Fen `json:"payer_refund"`
	SettlementRefund money.Fen `json:"settlement_refund"`
	SettlementTotal  money.Fen `json:"settlement_total"`
	DiscountRefund   money.Fen `json:"discount_refund"`
	Currency         string    `json:"currency"`
}

// refundJSON is a refund as create and query answer it.
func (p *Pay) refundJSON(r *refundRec) any {
	out := struct {
		RefundID            string       `json:"refund_id"`
		OutRefundNo         string       `json:"out_refund_no"`
		TransactionID       string       `json:"transaction_id"`
		OutTradeNo          string       `json:"out_trade_no"`
		Channel             string       `json:"channel"`
		UserReceivedAccount string       `json:"user_received_account"`
		SuccessTime         string       `json:"success_time,omitempty"`
		CreateTime          string       `json:"create_time"`
		Status              string       `json:"status"`
		FundsAccount        string       `json:"funds_account"`
		Amount              refundAmount `json:"amount"`
	}{
		RefundID: r.refundID, OutRefundNo: r.outRefundNo, TransactionID: r.tx.transactionID, OutTradeNo: r.tx.outTradeNo,
		Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱", CreateTime: r.created.In(chinaTime).Format(time.RFC3339),
		Status: r.status, FundsAccount: "AVAILABLE",
		Amount: refundAmount{
			Total: r.tx.total, Refund: r.amount, From: []any{}, PayerTotal: r.tx.total, PayerRefund: r.amount,
			SettlementRefund: r.amount, SettlementTotal: r.tx.total, Currency: "CNY",
		},
	}
	if !r.succeeded.IsZero() {
		out.SuccessTime = r.succeeded.In(chinaTime).Format(time.RFC3339)
	}
	return out
}

// refundResource is a refund as its callback carries it: the platform's
// notification shape, which differs from the API's (refund_status, no
// appid).
func (p *Pay) refundResource(r *refundRec) any {
	type amount struct {
		Total       money.Fen `json:"total"`
		Refund      money.Fen `json:"refund"`
		PayerTotal  money.Fen `json:"payer_total"`
		PayerRefund money.Fen `json:"payer_refund"`
	}
	out := struct {
		MchID               string `json:"mchid"`
		OutTradeNo          string `json:"out_trade_no"`
		TransactionID       string `json:"transaction_id"`
		OutRefundNo         string `json:"out_refund_no"`
		RefundID            string `json:"refund_id"`
		RefundStatus        string `json:"refund_status"`
		SuccessTime         string `json:"success_time,omitempty"`
		UserReceivedAccount string `json:"user_received_account"`
		Amount              amount `json:"amount"`
	}{
		MchID: p.cfg.MchID, OutTradeNo: r.tx.outTradeNo, TransactionID: r.tx.transactionID,
		OutRefundNo: r.outRefundNo, RefundID: r.refundID, RefundStatus: r.status,
		UserReceivedAccount: "支付用户零钱",
		Amount:              amount{r.tx.total, r.amount, r.tx.total, r.amount},
	}
	if !r.succeeded.IsZero() {
		out.SuccessTime = r.succeeded.In(chinaTime).Format(time.RFC3339)
	}
	return out
}
