package httpapi_test

import (
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
)

type payParams struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

type paymentState struct {
	OrderID string     `json:"order_id"`
	State   string     `json:"state"`
	Amount  money.Fen  `json:"amount"`
	PaidAt  *time.Time `json:"paid_at"`
}

type afterSalePage struct {
	Items      []refund.AfterSale `json:"items"`
	NextCursor string             `json:"next_cursor"`
}

type refundPage struct {
	Items      []refund.Refund `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// TestPayAndRefundJourney walks an order's money end to end through the
// API: the buyer pays through the simulated WeChat Pay and its callback
// pays the order; the buyer asks for part of it back, an operator agrees,
// the platform's refund callback completes it; finance refunds the rest;
// the ledger balances after every step and settles the day to the fen.
func TestPayAndRefundJourney(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		o := w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 2, w.skuB, 1)
		path := "/api/v1/orders/" + o.ID
		if p := w.alice.must(404, "GET", path+"/payment", nil, nil).problem(t); p.Code != "payment_not_found" {
			t.Fatalf("payment before paying: %+v", p)
		}

		// The buyer asks to pay: signed parameters for wx.requestPayment,
		// replayed for a repeated key, and for the same transaction when
		// asked again.
		key := []string{"Idempotency-Key", "pay-" + o.ID}
		var params payParams
		first := w.alice.must(201, "POST", path+"/payments", nil, &params, key...)
		if params.AppID != w.app.Config.WeChatAppID || params.SignType != "RSA" || params.PaySign == "" ||
			len(params.Package) <= len("prepay_id=") || params.Package[:len("prepay_id=")] != "prepay_id=" {
			t.Fatalf("pay params: %+v", params)
		}
		replay := w.alice.must(201, "POST", path+"/payments", nil, nil, key...)
		if string(replay.Body) != string(first.Body) || replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("not replayed: %s", replay.Body)
		}
		var again payParams
		w.alice.must(201, "POST", path+"/payments", nil, &again)
		if again.Package != params.Package {
			t.Fatalf("a second transaction: %s, then %s", params.Package, again.Package)
		}
		w.bob.must(404, "POST", path+"/payments", nil, nil)
		w.bob.must(404, "GET", path+"/payment", nil, nil)

		var st paymentState
		w.alice.must(200, "GET", path+"/payment", nil, &st)
		if st.State != "pending" || st.Amount != o.Total || st.PaidAt != nil || st.OrderID != o.ID {
			t.Fatalf("before the money: %+v", st)
		}

		// The money arrives; the platform's callback, and nothing the
		// client says, makes the order paid.
		w.buyerPays(o.ID)
		w.alice.must(200, "GET", path+"/payment", nil, &st)
		if st.State != "succeeded" || st.PaidAt == nil || st.Amount != o.Total {
			t.Fatalf("after the callback: %+v", st)
		}
		w.alice.must(200, "GET", path, nil, &o)
		if o.Status != order.Paid {
			t.Fatalf("order %s", o.Status)
		}
		for _, d := range w.app.PaySandbox.Deliveries() {
			if d.Status != 204 {
				t.Errorf("the app answered a %s callback %d %s", d.EventType, d.Status, d.Err)
			}
		}
		if p := w.alice.must(409, "POST", path+"/payments", nil, nil).problem(t); p.Code != "order_not_payable" {
			t.Fatalf("paying a paid order: %+v", p)
		}
		tb := w.soundLedger()
		if tb.balance(ledger.MerchantRevenue) != o.Total {
			t.Fatalf("revenue %d, paid %d", tb.balance(ledger.MerchantRevenue), o.Total)
		}

		// The buyer asks for one unit of line A back.
		lineA := o.Lines[0]
		if lineA.SKUID != w.skuA {
			t.Fatalf("line order: %+v", o.Lines)
		}
		req := map[string]any{"kind": "refund_only", "reason": "一盒压坏了",
			"lines": []map[string]any{{"order_line_id": lineA.ID, "qty": 1}}}
		var as refund.AfterSale
		w.alice.must(201, "POST", path+"/after-sales", req, &as)
		if as.State != refund.Requested || as.OrderID != o.ID || len(as.Lines) != 1 {
			t.Fatalf("requested: %+v", as)
		}
		w.bob.must(404, "GET", "/api/v1/after-sales/"+as.ID, nil, nil)
		w.bob.must(404, "POST", "/api/v1/after-sales/"+as.ID+"/withdraw", nil, nil)
		w.bob.must(404, "POST", path+"/after-sales", req, nil)
		var mine, bobs afterSalePage
		w.alice.must(200, "GET", "/api/v1/after-sales?order_id="+o.ID+"&state=requested", nil, &mine)
		w.bob.must(200, "GET", "/api/v1/after-sales", nil, &bobs)
		if len(mine.Items) != 1 || mine.Items[0].ID != as.ID || len(bobs.Items) != 0 {
			t.Fatalf("alice's %+v, bob's %+v", mine, bobs)
		}
		var waiting afterSalePage
		w.operator.must(200, "GET", "/admin/api/v1/after-sales?state=requested&limit=10", nil, &waiting)
		if len(waiting.Items) != 1 || waiting.Items[0].ID != as.ID {
			t.Fatalf("waiting: %+v", waiting)
		}
		w.finance.must(200, "GET", "/admin/api/v1/after-sales/"+as.ID, nil, nil)

		// An operator agrees; the refund goes to the platform and its
		// callback completes it.
		var decided refund.AfterSale
		w.operator.must(200, "POST", "/admin/api/v1/after-sales/"+as.ID+"/approve", map[string]string{"note": "同意退款"}, &decided)
		if decided.State != refund.Refunding || decided.RefundID == "" || decided.Operator == "" {
			t.Fatalf("approved: %+v", decided)
		}
		w.settle()
		w.alice.must(200, "GET", "/api/v1/after-sales/"+as.ID, nil, &as)
		if as.State != refund.Refunded || as.Note != "同意退款" || as.Operator != "" {
			t.Fatalf("the buyer's after-sale: %+v", as)
		}
		var one refund.Refund
		w.finance.must(200, "GET", "/admin/api/v1/refunds/"+decided.RefundID, nil, &one)
		if one.State != refund.Succeeded || one.Amount != lineA.Amount/2 || one.Source != refund.FromAfterSale || one.AfterSaleID != as.ID {
			t.Fatalf("the refund: %+v", one)
		}
		refunded := w.app.PaySandbox.Deliveries()
		if last := refunded[len(refunded)-1]; last.EventType != pay.EventRefundSuccess || last.Status != 204 {
			t.Fatalf("the refund callback: %+v", last)
		}
		tb = w.soundLedger()
		if got := tb.balance(ledger.MerchantRevenue); got != o.Total-one.Amount {
			t.Fatalf("revenue %d after refunding %d of %d", got, one.Amount, o.Total)
		}

		// Finance refunds everything left, safely repeated.
		rest := map[string]any{"all": true, "reason": "客户取消剩余商品"}
		fkey := []string{"Idempotency-Key", "refund-rest-" + o.ID}
		var r2 refund.Refund
		created := w.finance.must(201, "POST", "/admin/api/v1/orders/"+o.ID+"/refunds", rest, &r2, fkey...)
		if r2.State != refund.Pending || r2.Amount != o.Total-one.Amount || !r2.Full || r2.Source != refund.ByFinance {
			t.Fatalf("the rest: %+v", r2)
		}
		if again := w.finance.must(201, "POST", "/admin/api/v1/orders/"+o.ID+"/refunds", rest, nil, fkey...); string(again.Body) != string(created.Body) {
			t.Fatalf("a repeat is not the first answer: %s", again.Body)
		}
		w.settle()
		var all refundPage
		w.finance.must(200, "GET", "/admin/api/v1/orders/"+o.ID+"/refunds", nil, &all)
		if len(all.Items) != 2 || all.Items[0].State != refund.Succeeded || all.Items[1].State != refund.Succeeded {
			t.Fatalf("the order's refunds: %+v", all)
		}
		w.finance.must(409, "POST", "/admin/api/v1/orders/"+o.ID+"/refunds", map[string]any{"all": true, "reason": "再退一次"}, nil)
		// Refunded in full, the order is over: nothing is left to ship.
		var mine2 struct {
			Items []order.Order `json:"items"`
		}
		w.alice.must(200, "GET", "/api/v1/orders?status=refunded", nil, &mine2)
		if len(mine2.Items) != 1 || mine2.Items[0].ID != o.ID {
			t.Fatalf("refunded orders: %+v", mine2.Items)
		}
		w.operator.must(409, "POST", "/admin/api/v1/orders/"+o.ID+"/ship",
			map[string]string{"carrier": "SF Express", "tracking_no": "SF1234567890"}, nil)

		tb = w.soundLedger()
		for _, acct := range []string{ledger.MerchantRevenue, ledger.ClearingWeChat, ledger.RefundsPayable, ledger.PlatformFees} {
			if b := tb.balance(acct); b != 0 {
				t.Errorf("%s holds %d after a full refund", acct, b)
			}
		}
		// The fake clock's day in Asia/Shanghai.
		day := w.app.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		var s struct {
			Day      string    `json:"day"`
			Payments int       `json:"payments"`
			Paid     money.Fen `json:"paid"`
			Refunds  int       `json:"refunds"`
			Refunded money.Fen `json:"refunded"`
			Fees     money.Fen `json:"fees"`
			Net      money.Fen `json:"net"`
		}
		w.finance.must(200, "GET", "/admin/api/v1/ledger/settlements/"+day, nil, &s)
		if s.Day != day || s.Payments != 1 || s.Paid != o.Total || s.Refunds != 2 || s.Refunded != o.Total || s.Fees != 0 || s.Net != 0 {
			t.Fatalf("settlement of %s: %+v", day, s)
		}
		var stmt struct {
			Account string        `json:"account"`
			Items   []ledger.Line `json:"items"`
		}
		w.finance.must(200, "GET", "/admin/api/v1/ledger/accounts/"+ledger.ClearingWeChat+"/statement?limit=50", nil, &stmt)
		// In: the payment and the fees the refunds returned; out: the
		// payment's fee and the two payouts.
		want := 4
		for _, f := range []money.Fen{one.Fee, r2.Fee} {
			if f > 0 {
				want++
			}
		}
		if stmt.Account != ledger.ClearingWeChat || len(stmt.Items) != want {
			t.Fatalf("statement: %+v", stmt)
		}
	})
}

// TestAfterSaleDecisions: a rejection needs a note and frees the line, a
// buyer may withdraw, and a return is refunded only once the goods are
// back, which puts them back in stock.
func TestAfterSaleDecisions(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		o := w.paid(w.alice, w.aliceAddr.ID, w.skuA, 2, w.skuB, 1)
		w.operator.must(200, "POST", "/admin/api/v1/orders/"+o.ID+"/ship",
			map[string]string{"carrier": "SF Express", "tracking_no": "SF1234567890"}, nil)
		lineA, lineB := o.Lines[0], o.Lines[1]
		ask := func(kind, lineID string, qty int) refund.AfterSale {
			var as refund.AfterSale
			w.alice.must(201, "POST", "/api/v1/orders/"+o.ID+"/after-sales", map[string]any{"kind": kind, "reason": "不想要了",
				"lines": []map[string]any{{"order_line_id": lineID, "qty": qty}}}, &as)
			return as
		}

		as := ask("refund_only", lineB.ID, 1)
		if p := w.alice.must(409, "POST", "/api/v1/orders/"+o.ID+"/after-sales", map[string]any{"kind": "refund_only", "reason": "再来",
			"lines": []map[string]any{{"order_line_id": lineB.ID, "qty": 1}}}, nil).problem(t); p.Code != "aftersale_open" {
			t.Fatalf("a second request on the line: %+v", p)
		}
		if p := w.operator.must(400, "POST", "/admin/api/v1/after-sales/"+as.ID+"/reject", map[string]string{}, nil).problem(t); !p.hasField("note") {
			t.Fatalf("reject without a note: %+v", p)
		}
		var rejected refund.AfterSale
		w.operator.must(200, "POST", "/admin/api/v1/after-sales/"+as.ID+"/reject", map[string]string{"note": "商品已拆封"}, &rejected)
		if rejected.State != refund.Rejected {
			t.Fatalf("rejected: %+v", rejected)
		}
		w.operator.must(409, "POST", "/admin/api/v1/after-sales/"+as.ID+"/approve", map[string]string{}, nil)

		// The line is free again; the buyer changes their mind.
		as = ask("refund_only", lineB.ID, 1)
		var withdrawn refund.AfterSale
		w.alice.must(200, "POST", "/api/v1/after-sales/"+as.ID+"/withdraw", nil, &withdrawn)
		if withdrawn.State != refund.Withdrawn {
			t.Fatalf("withdrawn: %+v", withdrawn)
		}
		w.alice.must(200, "POST", "/api/v1/after-sales/"+as.ID+"/withdraw", nil, nil)

		// A return: approved, then refunded once the goods are back.
		before := w.stockOf(w.skuA)
		ret := ask("return_refund", lineA.ID, 1)
		w.operator.must(409, "POST", "/admin/api/v1/after-sales/"+ret.ID+"/receive-return", map[string]string{}, nil)
		var approved refund.AfterSale
		w.operator.must(200, "POST", "/admin/api/v1/after-sales/"+ret.ID+"/approve", map[string]string{"note": "请寄回"}, &approved)
		if approved.State != refund.Approved || approved.RefundID != "" {
			t.Fatalf("approved return: %+v", approved)
		}
		w.settle()
		var received refund.AfterSale
		w.operator.must(200, "POST", "/admin/api/v1/after-sales/"+ret.ID+"/receive-return", map[string]string{"note": "已收到"}, &received)
		if received.State != refund.Refunding || received.RefundID == "" {
			t.Fatalf("received: %+v", received)
		}
		w.settle()
		w.alice.must(200, "GET", "/api/v1/after-sales/"+ret.ID, nil, &ret)
		if ret.State != refund.Refunded {
			t.Fatalf("the return: %+v", ret)
		}
		if after := w.stockOf(w.skuA); after.OnHand != before.OnHand+1 {
			t.Fatalf("on hand %d after the return, %d before", after.OnHand, before.OnHand)
		}
		var list afterSalePage
		w.owner.must(200, "GET", "/admin/api/v1/after-sales?order_id="+o.ID, nil, &list)
		if len(list.Items) != 3 {
			t.Fatalf("the order's after-sales: %+v", list)
		}
		w.soundLedger()
	})
}

// TestAbnormalRefund: a refund the platform could not pay out waits for
// finance, who lists it and decides it once.
func TestAbnormalRefund(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		o := w.paid(w.alice, w.aliceAddr.ID, w.skuA, 1, w.skuB, 1)
		w.failRefunds(o.ID)
		lines := func(line order.Line) map[string]any {
			return map[string]any{"reason": "质量问题", "lines": []map[string]any{{"order_line_id": line.ID, "qty": 1}}}
		}
		var r1, r2 refund.Refund
		w.finance.must(201, "POST", "/admin/api/v1/orders/"+o.ID+"/refunds", lines(o.Lines[0]), &r1)
		w.finance.must(201, "POST", "/admin/api/v1/orders/"+o.ID+"/refunds", lines(o.Lines[1]), &r2)
		w.settle()

		var abnormal refundPage
		w.finance.must(200, "GET", "/admin/api/v1/refunds?state=abnormal", nil, &abnormal)
		if len(abnormal.Items) != 2 || abnormal.Items[0].Failure == "" {
			t.Fatalf("abnormal: %+v", abnormal)
		}
		if p := w.finance.must(400, "POST", "/admin/api/v1/refunds/"+r1.ID+"/resolve", map[string]string{"resolution": "refunded_offline"}, nil).problem(t); !p.hasField("note") {
			t.Fatalf("resolve without a note: %+v", p)
		}
		var done refund.Refund
		w.finance.must(200, "POST", "/admin/api/v1/refunds/"+r1.ID+"/resolve",
			map[string]string{"resolution": "refunded_offline", "note": "已通过银行转账退款"}, &done)
		if done.State != refund.Succeeded || done.Resolution != refund.RefundedOffline || done.Operator == "" {
			t.Fatalf("refunded offline: %+v", done)
		}
		if p := w.finance.must(409, "POST", "/admin/api/v1/refunds/"+r1.ID+"/resolve",
			map[string]string{"resolution": "closed", "note": "再次处理"}, nil).problem(t); p.Code != "refund_invalid_state" {
			t.Fatalf("resolving twice: %+v", p)
		}
		w.finance.must(200, "POST", "/admin/api/v1/refunds/"+r2.ID+"/resolve",
			map[string]string{"resolution": "closed", "note": "买家放弃"}, &done)
		if done.State != refund.Closed {
			t.Fatalf("closed: %+v", done)
		}
		w.finance.must(200, "GET", "/admin/api/v1/refunds?state=abnormal", nil, &abnormal)
		if len(abnormal.Items) != 0 {
			t.Fatalf("still abnormal: %+v", abnormal)
		}
		w.soundLedger()
	})
}
