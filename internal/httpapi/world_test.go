package httpapi_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/order"
)

// world is a shop set up through the API: operators of every role, a
// category, one product on sale with two SKUs in stock, and two buyers with
// an address each.
type world struct {
	t   *testing.T
	app *apptest.App

	anon                               *client
	owner, operator, finance, reviewer *client
	alice, bob                         *client

	category   catalog.Category
	product    catalog.Product
	skuA, skuB string // 100 units each; skuA 1999 fen, skuB 2999 fen
	aliceAddr  identity.Address
	bobAddr    identity.Address
}

const password = "correct horse battery staple"

// eachEngine runs f on a fresh world on every engine available.
func eachEngine(t *testing.T, f func(t *testing.T, w *world)) {
	for _, e := range apptest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			f(t, newWorld(t, e))
		})
	}
}

func newWorld(t *testing.T, engine apptest.Engine) *world {
	t.Helper()
	a := apptest.New(t, engine, nil)
	w := &world{t: t, app: a}
	w.anon = &client{t: t, h: a.Handler}
	ctx := context.Background()
	for _, role := range []identity.Role{identity.Owner, identity.Operator, identity.Finance, identity.Reviewer} {
		if _, err := a.Identity.CreateOperator(ctx, string(role)+"@shop.example", password, role); err != nil {
			t.Fatalf("create %s: %v", role, err)
		}
	}
	w.owner = w.operatorLogin(string(identity.Owner) + "@shop.example")
	w.operator = w.operatorLogin(string(identity.Operator) + "@shop.example")
	w.finance = w.operatorLogin(string(identity.Finance) + "@shop.example")
	w.reviewer = w.operatorLogin(string(identity.Reviewer) + "@shop.example")

	w.operator.must(201, "POST", "/admin/api/v1/categories", map[string]any{"name": "Tea", "sort": 1}, &w.category)
	w.operator.must(201, "POST", "/admin/api/v1/products", map[string]any{
		"category_id": w.category.ID, "title": "Longjing green tea", "status": "on_sale",
		"images": []string{"https://img.shop.example/longjing.jpg"},
		"skus": []map[string]any{
			{"code": "LJ-50", "specs": []map[string]string{{"name": "weight", "value": "50g"}}, "list_price": 2599, "sale_price": 1999},
			{"code": "LJ-100", "specs": []map[string]string{{"name": "weight", "value": "100g"}}, "list_price": 3999, "sale_price": 2999,
				"channel_prices": map[string]int{"mini_program": 2999}},
		},
	}, &w.product)
	w.skuA, w.skuB = w.product.SKUs[0].ID, w.product.SKUs[1].ID
	for _, sku := range []string{w.skuA, w.skuB} {
		w.operator.must(201, "POST", "/admin/api/v1/stock/adjustments",
			map[string]any{"sku_id": sku, "delta": 100, "reason": "receive", "note": "first delivery"}, nil)
	}

	w.alice = w.buyerLogin("alice")
	w.bob = w.buyerLogin("bob")
	w.alice.must(201, "POST", "/api/v1/addresses", addressBody("张三丰", "13812345678", "西湖区文三路88号3幢"), &w.aliceAddr)
	w.bob.must(201, "POST", "/api/v1/addresses", addressBody("李四", "13900001111", "滨江区江南大道1号"), &w.bobAddr)
	return w
}

var codeSeq int

func (w *world) buyerLogin(user string) *client {
	w.t.Helper()
	codeSeq++
	var s struct {
		Token string `json:"token"`
	}
	w.anon.must(201, "POST", "/api/v1/sessions", map[string]string{"code": user + "." + strconv.Itoa(codeSeq)}, &s)
	return w.anon.as(s.Token)
}

func (w *world) operatorLogin(email string) *client {
	w.t.Helper()
	var s struct {
		Token string `json:"token"`
	}
	w.anon.must(201, "POST", "/admin/api/v1/sessions", map[string]string{"email": email, "password": password}, &s)
	return w.anon.as(s.Token)
}

func addressBody(name, phone, detail string) map[string]any {
	return map[string]any{"name": name, "phone": phone, "province": "浙江省", "city": "杭州市",
		"district": "西湖区", "detail": detail}
}

// directBuy is the body of a direct-buy order.
func directBuy(addressID string, lines ...any) map[string]any {
	ls := []map[string]any{}
	for i := 0; i+1 < len(lines); i += 2 {
		ls = append(ls, map[string]any{"sku_id": lines[i], "qty": lines[i+1]})
	}
	return map[string]any{"lines": ls, "address_id": addressID}
}

// placeOrder places an order for c and returns it.
func (w *world) placeOrder(c *client, addressID string, lines ...any) order.Order {
	w.t.Helper()
	var o order.Order
	c.must(201, "POST", "/api/v1/orders", directBuy(addressID, lines...), &o)
	return o
}

// stockOf is a SKU's online level, read through the admin API.
func (w *world) stockOf(sku string) inventory.Level {
	w.t.Helper()
	var v struct {
		Levels []inventory.Level `json:"levels"`
	}
	w.owner.must(200, "GET", "/admin/api/v1/stock/"+sku, nil, &v)
	for _, l := range v.Levels {
		if l.Location == inventory.Online {
			return l
		}
	}
	return inventory.Level{SKUID: sku, Location: inventory.Online}
}

// orderCount is how many orders a buyer has, read through the buyer API.
func (w *world) orderCount(c *client) int {
	w.t.Helper()
	var p struct {
		Items []order.Order `json:"items"`
	}
	c.must(200, "GET", "/api/v1/orders?limit=100", nil, &p)
	return len(p.Items)
}
