package httpapi_test

import (
	"strings"
	"testing"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func TestSystemRoutes(t *testing.T) {
	w := newWorld(t, "sqlite")
	w.anon.must(200, "GET", "/healthz", nil, nil)
	w.anon.must(200, "GET", "/readyz", nil, nil)
	var doc map[string]any
	w.anon.must(200, "GET", "/openapi.json", nil, &doc)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %v", doc["openapi"])
	}

	w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 1)
	w.stockOf(w.skuA)
	r := w.anon.must(200, "GET", "/metrics", nil, nil)
	for _, want := range []string{
		`siyu_http_requests_total{method="POST",route="POST /api/v1/orders",status="201"} 1`,
		`siyu_http_request_duration_seconds_bucket{route="GET /admin/api/v1/stock/{sku_id}",le="0.001"}`,
		`siyu_orders_placed_total 1`,
		`siyu_stock_reservations_failed_total 0`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Raw paths never become labels.
	if strings.Contains(string(r.Body), w.skuA) {
		t.Error("a SKU id is a metric label")
	}

	// Not ready: the database is gone.
	w.app.Store.Close()
	if p := w.anon.must(503, "GET", "/readyz", nil, nil).problem(t); p.Code != "not_ready" {
		t.Fatalf("readyz: %+v", p)
	}
}

// TestBuyerJourney walks a buyer through the shop: browse, address book,
// order, cancel, and an order through payment, shipping and receipt.
func TestBuyerJourney(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		var cats struct{ Items []catalog.Category }
		w.anon.must(200, "GET", "/api/v1/categories", nil, &cats)
		if len(cats.Items) != 1 || cats.Items[0].ID != w.category.ID {
			t.Fatalf("categories: %+v", cats)
		}

		var page struct {
			Items []struct {
				ID   string `json:"id"`
				SKUs []struct {
					ID        string `json:"id"`
					SalePrice int64  `json:"sale_price"`
					Available int64  `json:"available"`
				} `json:"skus"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		w.anon.must(200, "GET", "/api/v1/products?category_id="+w.category.ID+"&sort=price_asc&min_price=100&max_price=100000&q=Longjing&limit=10", nil, &page)
		if len(page.Items) != 1 || page.Items[0].ID != w.product.ID || page.Items[0].SKUs[0].Available != 100 {
			t.Fatalf("products: %+v", page)
		}
		w.anon.must(200, "GET", "/api/v1/products/"+w.product.ID, nil, nil)
		// A draft is not in the shop window.
		var draft catalog.Product
		w.operator.must(201, "POST", "/admin/api/v1/products", map[string]any{
			"category_id": w.category.ID, "title": "Unreleased", "skus": []map[string]any{{"list_price": 100, "sale_price": 100}},
		}, &draft)
		if p := w.anon.must(404, "GET", "/api/v1/products/"+draft.ID, nil, nil).problem(t); p.Code != "product_not_found" {
			t.Fatalf("draft: %+v", p)
		}
		w.anon.must(404, "GET", "/api/v1/products/not-an-id", nil, nil)

		// Address book.
		var second identity.Address
		w.alice.must(201, "POST", "/api/v1/addresses", addressBody("张三丰", "+86 138-1234-5678", "余杭区五常大道1号"), &second)
		if second.Phone != "13812345678" {
			t.Errorf("phone kept as %q", second.Phone)
		}
		var book struct{ Items []identity.Address }
		w.alice.must(200, "GET", "/api/v1/addresses", nil, &book)
		if len(book.Items) != 2 {
			t.Fatalf("addresses: %+v", book)
		}
		w.alice.must(200, "GET", "/api/v1/addresses/"+second.ID, nil, nil)
		body := addressBody("张三丰", "13812345678", "余杭区五常大道2号")
		body["is_default"] = true
		var updated identity.Address
		w.alice.must(200, "PUT", "/api/v1/addresses/"+second.ID, body, &updated)
		if !updated.IsDefault || updated.Detail != "余杭区五常大道2号" {
			t.Fatalf("updated: %+v", updated)
		}
		w.alice.must(204, "DELETE", "/api/v1/addresses/"+second.ID, nil, nil)
		w.alice.must(404, "GET", "/api/v1/addresses/"+second.ID, nil, nil)

		// An order, then cancelled: the stock comes back.
		o := w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 2, w.skuB, 1)
		// Priced by the server: sale prices, plus shipping under the free threshold.
		if o.Status != order.PendingPayment || o.Lines[0].Amount != 2*1999 || o.Lines[1].Amount != 2999 ||
			o.Total != 2*1999+2999+o.Shipping || o.ShipTo.Phone != "13812345678" {
			t.Fatalf("placed: %+v", o)
		}
		if l := w.stockOf(w.skuA); l.Reserved != 2 || l.OnHand != 100 {
			t.Fatalf("after placing: %+v", l)
		}
		var mine struct{ Items []order.Order }
		w.alice.must(200, "GET", "/api/v1/orders?status=pending_payment", nil, &mine)
		if len(mine.Items) != 1 || mine.Items[0].ID != o.ID {
			t.Fatalf("my orders: %+v", mine)
		}
		w.alice.must(200, "GET", "/api/v1/orders/"+o.ID, nil, nil)
		var cancelled order.Order
		w.alice.must(200, "POST", "/api/v1/orders/"+o.ID+"/cancel", nil, &cancelled)
		if cancelled.Status != order.Cancelled {
			t.Fatalf("cancelled: %+v", cancelled)
		}
		if l := w.stockOf(w.skuA); l.Reserved != 0 {
			t.Fatalf("after cancelling: %+v", l)
		}
		if p := w.alice.must(409, "POST", "/api/v1/orders/"+o.ID+"/confirm-receipt", nil, nil).problem(t); p.Code != "invalid_state" {
			t.Fatalf("confirm a cancelled order: %+v", p)
		}

		// An order through payment, shipping, delivery and receipt.
		o = w.paid(w.alice, w.aliceAddr.ID, w.skuB, 1)
		w.alice.must(409, "POST", "/api/v1/orders/"+o.ID+"/cancel", nil, nil)
		var shipped order.Order
		w.operator.must(200, "POST", "/admin/api/v1/orders/"+o.ID+"/ship",
			map[string]string{"carrier": "SF Express", "tracking_no": "SF1234567890"}, &shipped)
		if shipped.Status != order.Shipped || shipped.TrackingNo != "SF1234567890" {
			t.Fatalf("shipped: %+v", shipped)
		}
		w.operator.must(200, "POST", "/admin/api/v1/orders/"+o.ID+"/deliver", nil, nil)

		// The owner sees both changes in the audit log, newest first, with
		// the order they touched and no body; a refused change is absent.
		w.operator.must(409, "POST", "/admin/api/v1/orders/"+o.ID+"/ship",
			map[string]string{"carrier": "SF Express", "tracking_no": "SF1234567890"}, nil)
		var log struct {
			Items []struct {
				ActorID string `json:"actor_id"`
				Role    string `json:"role"`
				Action  string `json:"action"`
				Target  string `json:"target"`
				Status  int    `json:"status"`
			} `json:"items"`
		}
		w.owner.must(200, "GET", "/admin/api/v1/audit?limit=2", nil, &log)
		if len(log.Items) != 2 || log.Items[0].Action != "POST /admin/api/v1/orders/{id}/deliver" ||
			log.Items[1].Action != "POST /admin/api/v1/orders/{id}/ship" || log.Items[0].Target != o.ID ||
			log.Items[0].Role != "operator" || log.Items[0].Status != 200 {
			t.Fatalf("audit log: %+v", log.Items)
		}
		w.owner.must(200, "GET", "/admin/api/v1/audit?actor_id="+log.Items[0].ActorID, nil, &log)
		for _, e := range log.Items {
			if e.ActorID != log.Items[0].ActorID {
				t.Fatalf("another operator's entry under actor_id: %+v", e)
			}
		}
		w.owner.must(400, "GET", "/admin/api/v1/audit?actor_id=nobody", nil, nil)
		w.operator.must(403, "GET", "/admin/api/v1/audit", nil, nil)

		var done order.Order
		w.alice.must(200, "POST", "/api/v1/orders/"+o.ID+"/confirm-receipt", nil, &done)
		if done.Status != order.Completed {
			t.Fatalf("completed: %+v", done)
		}
		if l := w.stockOf(w.skuB); l.OnHand != 99 || l.Reserved != 0 {
			t.Fatalf("after selling one: %+v", l)
		}

		// Sessions end.
		w.alice.must(204, "DELETE", "/api/v1/sessions/current", nil, nil)
		w.alice.must(401, "GET", "/api/v1/orders", nil, nil)
	})
}

// TestAdminJourney walks an operator through the console's API.
func TestAdminJourney(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		var cats struct{ Items []catalog.Category }
		w.operator.must(200, "GET", "/admin/api/v1/categories", nil, &cats)
		var sub catalog.Category
		w.operator.must(201, "POST", "/admin/api/v1/categories", map[string]any{"name": "Green tea", "parent_id": w.category.ID}, &sub)
		if sub.ParentID != w.category.ID {
			t.Fatalf("sub-category: %+v", sub)
		}

		var page catalog.Page
		w.operator.must(200, "GET", "/admin/api/v1/products?status=on_sale&limit=5", nil, &page)
		if len(page.Products) != 1 {
			t.Fatalf("on sale: %+v", page)
		}
		w.operator.must(200, "GET", "/admin/api/v1/products/"+w.product.ID, nil, nil)

		var patched catalog.Product
		w.operator.must(200, "PATCH", "/admin/api/v1/products/"+w.product.ID, map[string]any{
			"title": "West Lake Longjing",
			"skus":  []map[string]any{{"id": w.skuA, "sale_price": 1899}},
			"new_skus": []map[string]any{{"specs": []map[string]string{{"name": "weight", "value": "250g"}},
				"list_price": 8999, "sale_price": 6999}},
		}, &patched)
		if patched.Title != "West Lake Longjing" || len(patched.SKUs) != 3 || patched.MinPrice != 1899 {
			t.Fatalf("patched: %+v", patched)
		}
		if p := w.operator.must(400, "PATCH", "/admin/api/v1/products/"+w.product.ID, map[string]any{
			"skus": []map[string]any{{"id": w.skuA, "sale_price": 999999}},
		}, nil).problem(t); p.Code != "above_list_price" {
			t.Fatalf("sale above list: %+v", p)
		}

		var off catalog.Product
		w.operator.must(200, "POST", "/admin/api/v1/products/"+w.product.ID+"/status", map[string]string{"status": "off_sale"}, &off)
		if off.Status != catalog.OffSale {
			t.Fatalf("status: %+v", off)
		}
		w.anon.must(404, "GET", "/api/v1/products/"+w.product.ID, nil, nil)
		w.operator.must(200, "POST", "/admin/api/v1/products/"+w.product.ID+"/status", map[string]string{"status": "on_sale"}, nil)

		// Stock: a correction, a refused one, and the journal.
		w.operator.must(201, "POST", "/admin/api/v1/stock/adjustments",
			map[string]any{"sku_id": w.skuA, "delta": -10, "reason": "adjust", "note": "count"}, nil)
		w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 5)
		if p := w.operator.must(409, "POST", "/admin/api/v1/stock/adjustments",
			map[string]any{"sku_id": w.skuA, "delta": -90, "reason": "adjust"}, nil).problem(t); p.Code != "stock_below_reserved" {
			t.Fatalf("below reserved: %+v", p)
		}
		var stock struct {
			Levels []struct {
				inventory.Level
				Available int64 `json:"available"`
			} `json:"levels"`
			Journal []inventory.Movement `json:"journal"`
		}
		w.operator.must(200, "GET", "/admin/api/v1/stock/"+w.skuA+"?limit=10", nil, &stock)
		if len(stock.Levels) != 1 || stock.Levels[0].OnHand != 90 || stock.Levels[0].Reserved != 5 || stock.Levels[0].Available != 85 {
			t.Fatalf("levels: %+v", stock.Levels)
		}
		if len(stock.Journal) != 3 || stock.Journal[0].Reason != inventory.Reserve {
			t.Fatalf("journal: %+v", stock.Journal)
		}
		// A SKU that was never created is not a SKU with no stock.
		if p := w.operator.must(404, "GET", "/admin/api/v1/stock/"+ids.New(), nil, nil).problem(t); p.Code != "sku_not_found" {
			t.Fatalf("unknown SKU: %+v", p)
		}

		// Orders: operators and finance see them masked; an operator closes one.
		var list struct{ Items []order.Order }
		w.finance.must(200, "GET", "/admin/api/v1/orders?status=pending_payment", nil, &list)
		if len(list.Items) != 1 {
			t.Fatalf("admin orders: %+v", list)
		}
		id := list.Items[0].ID
		var seen order.Order
		w.finance.must(200, "GET", "/admin/api/v1/orders/"+id, nil, &seen)
		for _, o := range []order.Order{list.Items[0], seen} {
			if o.ShipTo.Phone != "138******78" || o.ShipTo.Name != "张**" || strings.Contains(o.ShipTo.Detail, "88") {
				t.Fatalf("ship_to not masked: %+v", o.ShipTo)
			}
		}
		var closed order.Order
		w.operator.must(200, "POST", "/admin/api/v1/orders/"+id+"/close", nil, &closed)
		if closed.Status != order.Closed || closed.ShipTo.Phone != "138******78" {
			t.Fatalf("closed: %+v", closed)
		}
		if l := w.stockOf(w.skuA); l.Reserved != 0 {
			t.Fatalf("after closing: %+v", l)
		}
		// The buyer still sees their own order unmasked.
		var own order.Order
		w.alice.must(200, "GET", "/api/v1/orders/"+id, nil, &own)
		if own.ShipTo.Phone != "13812345678" {
			t.Fatalf("buyer's own ship_to: %+v", own.ShipTo)
		}

		w.operator.must(204, "DELETE", "/admin/api/v1/sessions/current", nil, nil)
		w.operator.must(401, "GET", "/admin/api/v1/orders", nil, nil)
	})
}

// TestRoles checks every admin operation against the roles the contract
// says it admits (x-roles): the others get 403, a buyer's token and no
// token 401.
func TestRoles(t *testing.T) {
	w := newWorld(t, "sqlite")
	c := spec(t)
	callers := map[string]*client{
		"owner": w.owner, "operator": w.operator, "finance": w.finance, "reviewer": w.reviewer,
	}
	for _, op := range c.operations() {
		method, tpl, _ := strings.Cut(op, " ")
		o, _ := c.lookup("#/paths/" + pointerToken(tpl) + "/" + strings.ToLower(method))
		rolesAny, ok := o.(map[string]any)["x-roles"].([]any)
		if !ok {
			if strings.HasPrefix(tpl, "/admin/") && tpl != "/admin/api/v1/sessions" && tpl != "/admin/api/v1/sessions/current" {
				t.Errorf("%s declares no x-roles", op)
			}
			continue
		}
		allowed := map[string]bool{}
		for _, r := range rolesAny {
			allowed[r.(string)] = true
		}
		if !allowed["owner"] {
			t.Errorf("%s: the owner may do everything", op)
		}
		// Ids that exist nowhere: an admitted caller passes the role check
		// and gets a 404 (or a 400 for a body-less request), never a 401
		// or 403.
		path := strings.NewReplacer("{id}", "0190d7f6-0000-7000-8000-000000000000", "{sku_id}", "0190d7f6-0000-7000-8000-000000000000").Replace(tpl)
		var body any
		if method == "POST" || method == "PATCH" || method == "PUT" {
			body = raw("{}")
		}
		for name, cl := range callers {
			r := cl.do(method, path, body)
			denied := r.Status == 403
			if allowed[name] == denied {
				t.Errorf("%s as %s: got %d (%s), admitted %v", op, name, r.Status, r.Body, allowed[name])
			}
			if denied && r.problem(t).Code != "forbidden" {
				t.Errorf("%s as %s: %s", op, name, r.Body)
			}
		}
		for name, cl := range map[string]*client{"buyer": w.alice, "nobody": w.anon, "bad token": w.anon.as("nope")} {
			if r := cl.do(method, path, body); r.Status != 401 {
				t.Errorf("%s as %s: got %d, want 401", op, name, r.Status)
			}
		}
	}
	// And an operator's token on the buyer API.
	for _, cl := range []*client{w.owner, w.operator} {
		if r := cl.do("GET", "/api/v1/orders", nil); r.Status != 401 {
			t.Errorf("operator on the buyer API: %d", r.Status)
		}
	}
}
