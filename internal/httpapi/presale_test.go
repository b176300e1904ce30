package httpapi_test

import (
	"slices"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// presaleBody is a deposit presale of skuA (sale 19.99, list 25.99) that
// passes every check: 3 days of selling, units 1-2 at 15.00 and from the
// 3rd at 18.00, a deposit of 3.00 a unit (20% of 15.00), the balance window
// the 2 days after, unless change says otherwise.
func (w *world) presaleBody(change map[string]any) map[string]any {
	now := w.app.Clock.Now()
	ends := now.Add(72 * time.Hour)
	body := map[string]any{
		"title": "明前龙井预售", "rules": "预售 3 天，定金 3 元/件；尾款期内付尾款，逾期未付定金不退（《民法典》第五百八十七条）。",
		"share_notice": "好友参与活动可能需要付费", "mode": "deposit", "basis": "units",
		"starts_at": now.Format(time.RFC3339), "ends_at": ends.Format(time.RFC3339),
		"balance_starts_at": ends.Format(time.RFC3339), "balance_ends_at": ends.Add(48 * time.Hour).Format(time.RFC3339),
		"ships_by": ends.Add(10 * 24 * time.Hour).Format(time.RFC3339),
		"items": []map[string]any{{"sku_id": w.skuA, "quota": 10, "deposit": 300,
			"steps": []map[string]any{{"from_unit": 1, "price": 1500}, {"from_unit": 3, "price": 1800}}}},
	}
	for k, v := range change {
		if v == nil {
			delete(body, k)
			continue
		}
		body[k] = v
	}
	return body
}

// livePresale creates and publishes a presale.
func (w *world) livePresale(change map[string]any) presale.View {
	w.t.Helper()
	var v presale.View
	w.operator.must(201, "POST", "/admin/api/v1/presales", w.presaleBody(change), &v)
	w.reviewer.must(200, "POST", "/admin/api/v1/presales/"+v.ID+"/publish", nil, &v)
	return v
}

type presaleBoughtJSON struct {
	PresaleOrder presale.Order `json:"presale_order"`
	Order        order.Order   `json:"order"`
}

// relogin logs the operators in again after the clock moved past their
// sessions' 12 hours.
func (w *world) relogin() {
	w.owner = w.operatorLogin("owner@shop.example")
	w.operator = w.operatorLogin("operator@shop.example")
	w.finance = w.operatorLogin("finance@shop.example")
	w.reviewer = w.operatorLogin("reviewer@shop.example")
}

// TestPresaleAPI walks a deposit presale through the API: the operator
// creates it, the reviewer publishes it, the buyer reads its steps, buys
// units that straddle a step, pays the deposit, pays the balance in its
// window, and finance refunds the purchase; the ledger stays sound.
func TestPresaleAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		var draft presale.View
		w.operator.must(201, "POST", "/admin/api/v1/presales", w.presaleBody(nil), &draft)
		w.operator.must(200, "PUT", "/admin/api/v1/presales/"+draft.ID, w.presaleBody(map[string]any{"title": "改名预售"}), &draft)
		if draft.Title != "改名预售" || draft.Status != presale.Draft || len(draft.Items) != 1 {
			t.Fatalf("draft: %+v", draft)
		}
		var rep compliance.Report
		w.reviewer.must(200, "GET", "/admin/api/v1/presales/"+draft.ID+"/checks", nil, &rep)
		if !rep.Passed {
			t.Fatalf("checks: %+v", rep)
		}
		var v presale.View
		w.reviewer.must(200, "POST", "/admin/api/v1/presales/"+draft.ID+"/publish", nil, &v)
		w.operator.must(200, "GET", "/admin/api/v1/presales/"+v.ID, nil, &v)
		var page struct {
			Items []presale.View `json:"items"`
		}
		w.operator.must(200, "GET", "/admin/api/v1/presales?status=published", nil, &page)
		if len(page.Items) != 1 || page.Items[0].ID != v.ID {
			t.Fatalf("admin list: %+v", page)
		}
		page.Items = nil
		w.anon.must(200, "GET", "/api/v1/presales", nil, &page)
		if len(page.Items) != 1 || page.Items[0].Items[0].Price != 1500 || len(page.Items[0].Items[0].Steps) != 2 {
			t.Fatalf("public list: %+v", page)
		}
		w.anon.must(200, "GET", "/api/v1/presales/"+v.ID, nil, &v)

		var b presaleBoughtJSON
		w.alice.must(201, "POST", "/api/v1/presales/"+v.ID+"/orders",
			map[string]any{"sku_id": w.skuA, "qty": 3, "address_id": w.aliceAddr.ID}, &b)
		po := b.PresaleOrder
		if want := []order.Run{{Qty: 2, Price: 1500}, {Qty: 1, Price: 1800}}; !slices.Equal(po.Runs, want) || po.Deposit != 900 || po.Balance != 3900 || b.Order.Total != 900 {
			t.Fatalf("bought: %+v, order total %d", po, b.Order.Total)
		}
		w.alice.must(200, "GET", "/api/v1/presales/"+v.ID, nil, &v)
		if v.Items[0].Price != 1800 || v.Items[0].Left != 7 {
			t.Fatalf("after the purchase: price %d, left %d", v.Items[0].Price, v.Items[0].Left)
		}
		w.alice.must(201, "POST", "/api/v1/orders/"+b.Order.ID+"/payments", nil, nil)
		w.buyerPays(b.Order.ID)
		w.alice.must(200, "GET", "/api/v1/presale-orders/"+po.ID, nil, &po)
		if po.Status != presale.DepositPaid {
			t.Fatalf("after the deposit: %s", po.Status)
		}
		var mine presale.OrderPage
		w.alice.must(200, "GET", "/api/v1/presale-orders?status=deposit_paid", nil, &mine)
		if len(mine.Orders) != 1 || mine.Orders[0].ID != po.ID {
			t.Fatalf("mine: %+v", mine)
		}
		w.refusedWith(w.alice.do("POST", "/api/v1/presale-orders/"+po.ID+"/balance", map[string]any{}), 409, "presale_balance_window")

		w.app.Clock.Advance(72 * time.Hour)
		w.relogin()
		var bal order.Order
		w.alice.must(201, "POST", "/api/v1/presale-orders/"+po.ID+"/balance", map[string]any{}, &bal)
		// 3,900 of goods, under the 99.00 free-shipping line: 8.00 shipping.
		if bal.Total != 3900+800 || bal.Activity == nil || bal.Activity.Kind != order.ActivityPresaleBalance {
			t.Fatalf("balance order: %+v", bal)
		}
		w.alice.must(201, "POST", "/api/v1/orders/"+bal.ID+"/payments", nil, nil)
		w.buyerPays(bal.ID)
		w.finance.must(200, "GET", "/admin/api/v1/presale-orders/"+po.ID, nil, &po)
		if po.Status != presale.Paid || po.BalanceOrderID != bal.ID {
			t.Fatalf("after the balance: %+v", po)
		}
		var all presale.OrderPage
		w.operator.must(200, "GET", "/admin/api/v1/presale-orders?activity_id="+v.ID, nil, &all)
		if len(all.Orders) != 1 {
			t.Fatalf("admin purchases: %+v", all)
		}

		var rf refund.Refund
		w.finance.must(201, "POST", "/admin/api/v1/presale-orders/"+po.ID+"/refund", map[string]any{"reason": "缺货退款"}, &rf,
			"Idempotency-Key", "presale-refund-1")
		if rf.OrderID != bal.ID || rf.Amount != bal.Total {
			t.Fatalf("refund: %+v", rf)
		}
		w.settle()
		w.finance.must(200, "GET", "/admin/api/v1/presale-orders/"+po.ID, nil, &po)
		if po.Status != presale.Refunded {
			t.Fatalf("after the refund: %s", po.Status)
		}
		var dep order.Order
		w.alice.must(200, "GET", "/api/v1/orders/"+b.Order.ID, nil, &dep)
		if dep.Status != order.Refunded {
			t.Fatalf("the deposit after the goods' refund: %s", dep.Status)
		}
		w.soundLedger()

		w.operator.must(200, "POST", "/admin/api/v1/presales/"+v.ID+"/end", nil, &v)
		if v.Status != presale.Ended {
			t.Fatalf("ended: %+v", v)
		}
	})
}

func (w *world) refusedWith(r reply, status int, code string) {
	w.t.Helper()
	if r.Status != status || r.problem(w.t).Code != code {
		w.t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}
