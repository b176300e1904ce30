package pay

import (
	"errors"
	"fmt"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/payment"
)

// transactionFrom reads the platform's transaction, as an order query
// answers it and as a TRANSACTION.* callback carries it (the same shape).
func transactionFrom(tx *payments.Transaction) (payment.Transaction, error) {
	if tx == nil {
		return payment.Transaction{}, errors.New("no transaction")
	}
	t := payment.Transaction{
		AppID:         str(tx.Appid),
		MchID:         str(tx.Mchid),
		OutTradeNo:    str(tx.OutTradeNo),
		TransactionID: str(tx.TransactionId),
		State:         payment.TradeState(str(tx.TradeState)),
	}
	if t.OutTradeNo == "" || t.State == "" {
		return payment.Transaction{}, errors.New("transaction without out_trade_no or trade_state")
	}
	if tx.Amount != nil {
		t.Total = money.Fen(i64(tx.Amount.Total))
		t.PayerTotal = money.Fen(i64(tx.Amount.PayerTotal))
		if c := str(tx.Amount.Currency); c != "" && c != "CNY" {
			return payment.Transaction{}, fmt.Errorf("transaction in %q, not CNY", c)
		}
	}
	if tx.Payer != nil {
		t.PayerOpenID = str(tx.Payer.Openid)
	}
	if s := str(tx.SuccessTime); s != "" {
		st, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return payment.Transaction{}, fmt.Errorf("success_time %q: %w", s, err)
		}
		t.SuccessTime = st
	}
	if t.State == payment.TradeSuccess && (t.TransactionID == "" || t.SuccessTime.IsZero()) {
		// A success without the platform's number or time cannot be
		// captured or reconciled later.
		return payment.Transaction{}, errors.New("SUCCESS without transaction_id or success_time")
	}
	return t, nil
}

var refundStatuses = map[payment.RefundStatus]bool{
	payment.RefundSuccess: true, payment.RefundClosed: true, payment.RefundProcessing: true, payment.RefundAbnormal: true,
}

// refundFrom reads the refund a create or query answers with.
func refundFrom(r *refunddomestic.Refund) (payment.RefundResult, error) {
	if r == nil {
		return payment.RefundResult{}, errors.New("no refund")
	}
	res := payment.RefundResult{
		OutTradeNo:  str(r.OutTradeNo),
		OutRefundNo: str(r.OutRefundNo),
		RefundID:    str(r.RefundId),
	}
	if r.Status != nil {
		res.Status = payment.RefundStatus(*r.Status)
	}
	if r.Amount != nil {
		res.Refund = money.Fen(i64(r.Amount.Refund))
		res.Total = money.Fen(i64(r.Amount.Total))
	}
	if r.SuccessTime != nil {
		res.SuccessTime = *r.SuccessTime
	}
	return res, checkRefund(res)
}

// refundResource is what a REFUND.* callback carries once decrypted. The
// SDK has no type for it; the fields are the platform's (refund
// notification reference). It has no appid: refunds belong to a merchant.
type refundResource struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       *int64 `json:"total"`
		Refund      *int64 `json:"refund"`
		PayerTotal  *int64 `json:"payer_total"`
		PayerRefund *int64 `json:"payer_refund"`
	} `json:"amount"`
}

func (r refundResource) result() (payment.RefundResult, error) {
	res := payment.RefundResult{
		OutTradeNo:  r.OutTradeNo,
		OutRefundNo: r.OutRefundNo,
		RefundID:    r.RefundID,
		Status:      payment.RefundStatus(r.RefundStatus),
		Refund:      money.Fen(i64(r.Amount.Refund)),
		Total:       money.Fen(i64(r.Amount.Total)),
	}
	if r.SuccessTime != "" {
		st, err := time.Parse(time.RFC3339, r.SuccessTime)
		if err != nil {
			return payment.RefundResult{}, fmt.Errorf("success_time %q: %w", r.SuccessTime, err)
		}
		res.SuccessTime = st
	}
	return res, checkRefund(res)
}

func checkRefund(r payment.RefundResult) error {
	switch {
	case r.OutRefundNo == "" || r.RefundID == "":
		return errors.New("refund without out_refund_no or refund_id")
	case !refundStatuses[r.Status]:
		return fmt.Errorf("refund status %q", r.Status)
	case r.Refund <= 0 || r.Total < r.Refund:
		return fmt.Errorf("refund of %d fen out of %d", r.Refund, r.Total)
	}
	return nil
}
