package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/presale"
)

// TestPresaleBadInput sends every presale endpoint what a careless or
// hostile client might, and checks each gets its clear error, every field
// named; and that none of it bought, claimed or changed anything.
func TestPresaleBadInput(t *testing.T) {
	eachEngine(t, presaleBadInput)
}

func presaleBadInput(t *testing.T, w *world) {
	live := w.livePresale(nil)
	var draft presale.View
	w.operator.must(201, "POST", "/admin/api/v1/presales", w.presaleBody(nil), &draft)
	var bobs presaleBoughtJSON
	w.bob.must(201, "POST", "/api/v1/presales/"+live.ID+"/orders", map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.bobAddr.ID}, &bobs)
	const unknown = "0190d7f6-0000-7000-8000-000000000000"
	body := w.presaleBody
	item := func(change map[string]any) map[string]any {
		it := map[string]any{"sku_id": w.skuA, "quota": 10, "deposit": 300,
			"steps": []map[string]any{{"from_unit": 1, "price": 1500}, {"from_unit": 3, "price": 1800}}}
		for k, v := range change {
			it[k] = v
		}
		return body(map[string]any{"items": []map[string]any{it}})
	}
	now := w.app.Clock.Now()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	buy := "/api/v1/presales/" + live.ID + "/orders"
	bobBalance := "/api/v1/presale-orders/" + bobs.PresaleOrder.ID + "/balance"
	admin := "/admin/api/v1/presales"
	cases := []struct {
		name        string
		c           *client
		method      string
		path        string
		body        any
		hdr         []string
		status      int
		code, field string
	}{
		{"malformed JSON", w.operator, "POST", admin, raw(`{"title":`), nil, 400, "malformed_json", ""},
		{"an array", w.operator, "POST", admin, raw(`[]`), nil, 400, "invalid_type", "body"},
		{"unknown field", w.operator, "POST", admin, body(map[string]any{"price": 1}), nil, 400, "unknown_field", "price"},
		{"quota as a string", w.operator, "POST", admin, item(map[string]any{"quota": "10"}), nil, 400, "invalid_type", "items.quota"},
		{"deposit as a fraction", w.operator, "POST", admin, item(map[string]any{"deposit": 2.5}), nil, 400, "invalid_type", "items.deposit"},
		{"deposit past int64", w.operator, "POST", admin, item(map[string]any{"deposit": 1e30}), nil, 400, "invalid_type", "items.deposit"},
		{"a step's unknown field", w.operator, "POST", admin, item(map[string]any{"steps": []map[string]any{{"from_unit": 1, "price": 1, "to_unit": 9}}}), nil, 400, "unknown_field", "to_unit"},
		{"no quota", w.operator, "POST", admin, item(map[string]any{"quota": 0}), nil, 400, "validation_failed", "items[0].quota"},
		{"a quota past the limit", w.operator, "POST", admin, item(map[string]any{"quota": 1_000_001}), nil, 400, "out_of_range", "items[0].quota"},
		{"a step over the list price", w.operator, "POST", admin, item(map[string]any{"steps": []map[string]any{{"from_unit": 1, "price": 1500}, {"from_unit": 3, "price": 2600}}}), nil, 400, "over_list_price", "items[0].steps[1].price"},
		{"steps out of order", w.operator, "POST", admin, item(map[string]any{"steps": []map[string]any{{"from_unit": 1, "price": 1500}, {"from_unit": 1, "price": 1800}}}), nil, 400, "invalid_step", "items[0].steps[1].from_unit"},
		{"a deposit at the price", w.operator, "POST", admin, item(map[string]any{"deposit": 1500}), nil, 400, "out_of_range", "items[0].deposit"},
		{"no SKU", w.operator, "POST", admin, item(map[string]any{"sku_id": unknown}), nil, 400, "sku_not_found", "items[0].sku_id"},
		{"no items", w.operator, "POST", admin, body(map[string]any{"items": []any{}}), nil, 400, "out_of_range", "items"},
		{"no mode", w.operator, "POST", admin, body(map[string]any{"mode": nil}), nil, 400, "invalid_mode", "mode"},
		{"a basis in words", w.operator, "POST", admin, body(map[string]any{"basis": "demand"}), nil, 400, "invalid_basis", "basis"},
		{"a time in words", w.operator, "POST", admin, body(map[string]any{"starts_at": "tomorrow"}), nil, 400, "invalid_time", "starts_at"},
		{"a step time in words", w.operator, "POST", admin, item(map[string]any{"steps": []map[string]any{{"from_time": "soon", "price": 1500}}}), nil, 400, "invalid_time", "items[0].steps[0].from_time"},
		{"ends first", w.operator, "POST", admin, body(map[string]any{"ends_at": at(-time.Hour)}), nil, 400, "invalid_window", "ends_at"},
		{"balance during the selling", w.operator, "POST", admin, body(map[string]any{"balance_starts_at": at(time.Hour)}), nil, 400, "invalid_window", "balance_starts_at"},
		{"a balance window in full mode", w.operator, "POST", admin, body(map[string]any{"mode": "full"}), nil, 400, "validation_failed", "balance_starts_at"},
		{"ships before the balance", w.operator, "POST", admin, body(map[string]any{"ships_by": at(80 * time.Hour)}), nil, 400, "invalid_window", "ships_by"},
		{"buyer limit 0", w.operator, "POST", admin, body(map[string]any{"per_buyer_limit": 0}), nil, 400, "out_of_range", "per_buyer_limit"},
		{"everything missing", w.operator, "POST", admin, map[string]any{}, nil, 400, "validation_failed", "title"},
		{"form body", w.operator, "POST", admin, raw(`{}`), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "Content-Type"},
		{"body over 1 MiB", w.operator, "POST", admin, body(map[string]any{"rules": strings.Repeat("x", 1<<20)}), nil, 413, "body_too_large", ""},
		{"finance creates", w.finance, "POST", admin, body(nil), nil, 403, "forbidden", ""},
		{"a buyer creates", w.alice, "POST", admin, body(nil), nil, 401, "unauthenticated", ""},
		{"edit nothing", w.operator, "PUT", admin + "/" + unknown, body(nil), nil, 404, "presale_not_found", ""},
		{"edit a malformed id", w.operator, "PUT", admin + "/1%20OR%201=1", body(nil), nil, 404, "presale_not_found", ""},
		{"edit a published presale", w.operator, "PUT", admin + "/" + live.ID, body(nil), nil, 409, "presale_not_draft", ""},
		{"read nothing", w.operator, "GET", admin + "/" + unknown, nil, nil, 404, "presale_not_found", ""},
		{"an operator publishes", w.operator, "POST", admin + "/" + draft.ID + "/publish", nil, nil, 403, "forbidden", ""},
		{"publish again", w.reviewer, "POST", admin + "/" + live.ID + "/publish", nil, nil, 409, "presale_not_draft", ""},
		{"finance reads checks", w.finance, "GET", admin + "/" + draft.ID + "/checks", nil, nil, 403, "forbidden", ""},
		{"bad status filter", w.operator, "GET", admin + "?status=live", nil, nil, 400, "invalid_parameter", "status"},
		{"forged cursor", w.operator, "GET", admin + "?cursor=forged", nil, nil, 400, "invalid_cursor", "cursor"},
		{"a bad presale filter", w.finance, "GET", "/admin/api/v1/presale-orders?activity_id=x", nil, nil, 400, "invalid_parameter", "activity_id"},
		{"a bad purchase status", w.finance, "GET", "/admin/api/v1/presale-orders?status=lost", nil, nil, 400, "invalid_parameter", "status"},
		{"a refund without a reason", w.finance, "POST", "/admin/api/v1/presale-orders/" + bobs.PresaleOrder.ID + "/refund", map[string]any{}, nil, 400, "required", "reason"},
		{"a refund of nothing paid", w.finance, "POST", "/admin/api/v1/presale-orders/" + bobs.PresaleOrder.ID + "/refund", map[string]any{"reason": "x"}, nil, 409, "presale_nothing_to_refund", ""},
		{"a refund of nothing", w.finance, "POST", "/admin/api/v1/presale-orders/" + unknown + "/refund", map[string]any{"reason": "x"}, nil, 404, "presale_order_not_found", ""},
		{"a refund with an amount", w.finance, "POST", "/admin/api/v1/presale-orders/" + bobs.PresaleOrder.ID + "/refund", map[string]any{"reason": "x", "amount": 1}, nil, 400, "unknown_field", "amount"},
		{"an operator refunds", w.operator, "POST", "/admin/api/v1/presale-orders/" + bobs.PresaleOrder.ID + "/refund", map[string]any{"reason": "x"}, nil, 403, "forbidden", ""},

		{"a draft, publicly", w.anon, "GET", "/api/v1/presales/" + draft.ID, nil, nil, 404, "presale_not_found", ""},
		{"a malformed presale id", w.anon, "GET", "/api/v1/presales/x", nil, nil, 404, "presale_not_found", ""},
		{"a bad public cursor", w.anon, "GET", "/api/v1/presales?cursor=x", nil, nil, 400, "invalid_cursor", "cursor"},
		{"buy malformed", w.alice, "POST", buy, raw(`{"sku_id":`), nil, 400, "malformed_json", ""},
		{"buy at a price", w.alice, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID, "price": 1}, nil, 400, "unknown_field", "price"},
		{"buy zero", w.alice, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 0, "address_id": w.aliceAddr.ID}, nil, 400, "out_of_range", "qty"},
		{"buy a string of units", w.alice, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": "2", "address_id": w.aliceAddr.ID}, nil, 400, "invalid_type", "qty"},
		{"buy past int", w.alice, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 1e30, "address_id": w.aliceAddr.ID}, nil, 400, "invalid_type", "qty"},
		{"buy with nothing", w.alice, "POST", buy, map[string]any{}, nil, 400, "validation_failed", "sku_id"},
		{"buy a long remark", w.alice, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID, "remark": strings.Repeat("茶", 201)}, nil, 400, "too_long", "remark"},
		{"buy a SKU not in it", w.alice, "POST", buy, map[string]any{"sku_id": w.skuB, "qty": 1, "address_id": w.aliceAddr.ID}, nil, 400, "sku_not_in_presale", "sku_id"},
		{"buy over the limit", w.alice, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 6, "address_id": w.aliceAddr.ID}, nil, 409, "presale_limit_reached", ""},
		{"buy to bob's address", w.alice, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.bobAddr.ID}, nil, 404, "address_not_found", ""},
		{"buy a draft", w.alice, "POST", "/api/v1/presales/" + draft.ID + "/orders", map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID}, nil, 404, "presale_not_found", ""},
		{"buy without a session", w.anon, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID}, nil, 401, "unauthenticated", ""},
		{"buy as an operator", w.operator, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID}, nil, 401, "unauthenticated", ""},
		{"buy as text", w.alice, "POST", buy, raw(`{}`), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "Content-Type"},
		{"a bad idempotency key", w.alice, "POST", buy, map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID}, []string{"Idempotency-Key", "é"}, 400, "invalid_idempotency_key", "Idempotency-Key"},
		{"bob's purchase", w.alice, "GET", "/api/v1/presale-orders/" + bobs.PresaleOrder.ID, nil, nil, 404, "presale_order_not_found", ""},
		{"bob's balance", w.alice, "POST", bobBalance, map[string]any{}, nil, 404, "presale_order_not_found", ""},
		{"a balance before the deposit", w.bob, "POST", bobBalance, map[string]any{}, nil, 409, "presale_deposit_unpaid", ""},
		{"a balance with an amount", w.bob, "POST", bobBalance, map[string]any{"amount": 1}, nil, 400, "unknown_field", "amount"},
		{"a balance to a malformed address", w.bob, "POST", bobBalance, map[string]any{"address_id": "x"}, nil, 400, "invalid_id", "address_id"},
		{"a balance of nothing", w.bob, "POST", "/api/v1/presale-orders/" + unknown + "/balance", map[string]any{}, nil, 404, "presale_order_not_found", ""},
		{"my purchases, bad status", w.alice, "GET", "/api/v1/presale-orders?status=lost", nil, nil, 400, "invalid_parameter", "status"},
		{"my purchases, unknown parameter", w.alice, "GET", "/api/v1/presale-orders?buyer_id=" + unknown, nil, nil, 400, "unknown_parameter", "buyer_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := &client{t: t, h: c.c.h, token: c.c.token}
			r := cl.do(c.method, c.path, c.body, c.hdr...)
			if r.Status != c.status {
				t.Fatalf("got %d, want %d: %s", r.Status, c.status, r.Body)
			}
			p := r.problem(t)
			if p.Code != c.code || (c.field != "" && !p.hasField(c.field)) {
				t.Fatalf("got %s field %q %+v, want %s field %q", p.Code, p.Field, p.Errors, c.code, c.field)
			}
		})
	}
	// None of that claimed a unit.
	var v presale.View
	w.anon.must(200, "GET", "/api/v1/presales/"+live.ID, nil, &v)
	if v.Items[0].Sold != 1 {
		t.Fatalf("bad input sold units: %d", v.Items[0].Sold)
	}

	// Repeats with one Idempotency-Key answer the first purchase.
	req := map[string]any{"sku_id": w.skuA, "qty": 2, "address_id": w.aliceAddr.ID}
	first := w.alice.must(201, "POST", buy, req, nil, "Idempotency-Key", "buy-1")
	again := w.alice.must(201, "POST", buy, req, nil, "Idempotency-Key", "buy-1")
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeated purchase: %s / %s", first.Body, again.Body)
	}
	req["qty"] = 1
	w.refusedWith(w.alice.do("POST", buy, req, "Idempotency-Key", "buy-1"), 422, "idempotency_key_reused")
	w.anon.must(200, "GET", "/api/v1/presales/"+live.ID, nil, &v)
	if v.Items[0].Sold != 3 {
		t.Fatalf("a repeated purchase bought twice: sold %d", v.Items[0].Sold)
	}

	// A presale of 4 days, or with a deposit over 20%, is refused at
	// publishing, every failed check named.
	var long presale.View
	w.operator.must(201, "POST", admin, body(map[string]any{"ends_at": at(96 * time.Hour),
		"balance_starts_at": at(96 * time.Hour), "balance_ends_at": at(120 * time.Hour), "ships_by": at(200 * time.Hour),
		"items": []map[string]any{{"sku_id": w.skuA, "quota": 10, "deposit": 301,
			"steps": []map[string]any{{"from_unit": 1, "price": 1500}}}}}), &long)
	r := w.reviewer.do("POST", admin+"/"+long.ID+"/publish", nil)
	p := r.problem(t)
	if r.Status != 400 || !p.hasField("checks.presale_duration") || !p.hasField("checks.deposit_limit") {
		t.Fatalf("publishing a 4-day presale: %d %s", r.Status, r.Body)
	}
}
