package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/order"
)

type flashSessionJSON struct {
	ID     string `json:"id"`
	Phase  string `json:"phase"`
	Status string `json:"status"`
	SKUs   []struct {
		SKUID string `json:"sku_id"`
		Quota int    `json:"quota"`
		Won   int    `json:"won"`
	} `json:"skus"`
}

type flashBuyJSON struct {
	Outcome       string `json:"outcome"`
	ReservationID string `json:"reservation_id"`
	Left          int    `json:"left"`
	Held          int    `json:"held"`
	Repeat        bool   `json:"repeat"`
}

// flashSession creates a session of skuA (quota 3, limit 2) opening in a
// minute, with a warm-up from now, fields overridden by over.
func (w *world) flashSession(over map[string]any) flashSessionJSON {
	w.t.Helper()
	var s flashSessionJSON
	w.operator.must(201, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(over), &s)
	return s
}

func (w *world) flashSessionBody(over map[string]any) map[string]any {
	now := w.app.Clock.Now()
	body := map[string]any{"name": "整点秒杀", "warmup_at": now.Format(time.RFC3339),
		"starts_at": now.Add(time.Minute).Format(time.RFC3339), "ends_at": now.Add(time.Hour).Format(time.RFC3339),
		"skus": []map[string]any{{"sku_id": w.skuA, "price": 999, "quota": 3, "limit": 2}}}
	for k, v := range over {
		if v == nil {
			delete(body, k)
			continue
		}
		body[k] = v
	}
	return body
}

func (w *world) press(c *client, sessionID, request string, qty int) reply {
	addr := w.aliceAddr.ID
	if c == w.bob {
		addr = w.bobAddr.ID
	}
	return c.do("POST", "/api/v1/flash/sessions/"+sessionID+"/buy",
		map[string]any{"sku_id": w.skuA, "qty": qty, "address_id": addr, "request_id": request})
}

// pressed presses and decodes a 200 decision into out.
func (w *world) pressed(c *client, sessionID, request string, qty int, out *flashBuyJSON) {
	w.t.Helper()
	r := w.press(c, sessionID, request, qty)
	if r.Status != 200 {
		w.t.Fatalf("press %s: %d %s", request, r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		w.t.Fatal(err)
	}
}

func TestFlashSaleThroughTheAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		before := w.stockOf(w.skuA)
		s := w.flashSession(nil)
		if s.Status != "scheduled" || s.Phase != "warmup" {
			t.Fatalf("created: %+v", s)
		}
		// The quota is carved out of the shop's stock at once.
		if after := w.stockOf(w.skuA); after.Reserved != before.Reserved+3 {
			t.Fatalf("reserved %d -> %d, want +3", before.Reserved, after.Reserved)
		}
		var list struct {
			Items []flashSessionJSON `json:"items"`
		}
		w.anon.must(200, "GET", "/api/v1/flash/sessions", nil, &list)
		if len(list.Items) != 1 || list.Items[0].ID != s.ID {
			t.Fatalf("showing: %+v", list)
		}
		w.anon.must(200, "GET", "/api/v1/flash/sessions/"+s.ID, nil, nil)
		w.alice.must(200, "POST", "/api/v1/flash/noop", map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID, "request_id": "noop-0001"}, nil)

		// Before the gate: refused, clearly.
		if r := w.press(w.alice, s.ID, "early-press-1", 1); r.Status != 409 || r.problem(t).Code != "flash_not_open" {
			t.Fatalf("before the gate: %d %s", r.Status, r.Body)
		}
		w.app.Clock.Advance(time.Minute)
		var won, again, lost flashBuyJSON
		w.pressed(w.alice, s.ID, "alice-press-1", 2, &won)
		if won.Outcome != "won" || won.Left != 1 || won.Held != 2 || won.ReservationID == "" {
			t.Fatalf("alice: %+v", won)
		}
		// Her retry of the same press takes nothing; a new press passes her limit.
		w.pressed(w.alice, s.ID, "alice-press-1", 2, &again)
		if again.Outcome != "won" || !again.Repeat || again.ReservationID != won.ReservationID {
			t.Fatalf("alice's retry: %+v", again)
		}
		w.pressed(w.alice, s.ID, "alice-press-2", 1, &lost)
		if lost.Outcome != "limit_reached" {
			t.Fatalf("alice past her limit: %+v", lost)
		}
		w.pressed(w.bob, s.ID, "bob-press-1", 2, &lost)
		if lost.Outcome != "sold_out" {
			t.Fatalf("bob asks 2 of 1 left: %+v", lost)
		}
		var bobWon flashBuyJSON
		w.pressed(w.bob, s.ID, "bob-press-2", 1, &bobWon)
		if bobWon.Outcome != "won" {
			t.Fatalf("bob: %+v", bobWon)
		}

		// Moments later the order writer has written the orders.
		if err := w.app.Flash.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		var res flashsale.Reservation
		w.alice.must(200, "GET", "/api/v1/flash/reservations/"+won.ReservationID, nil, &res)
		if res.Status != flashsale.Ordered || res.Qty != 2 || res.OrderID == "" {
			t.Fatalf("reservation: %+v", res)
		}
		var o order.Order
		w.alice.must(200, "GET", "/api/v1/orders/"+res.OrderID, nil, &o)
		if o.Lines[0].Amount != 1998 || o.Activity == nil || o.Activity.Kind != "flash_sale" || o.Status != order.PendingPayment {
			t.Fatalf("order: %+v", o)
		}
		if !o.PayBy.Equal(w.app.Clock.Now().Add(5 * time.Minute)) {
			t.Fatalf("pay by %s, want the 5-minute flash window", o.PayBy)
		}
		var mine struct {
			Items []flashsale.Reservation `json:"items"`
		}
		w.alice.must(200, "GET", "/api/v1/flash/sessions/"+s.ID+"/reservations", nil, &mine)
		if len(mine.Items) != 1 || mine.Items[0].ID != won.ReservationID {
			t.Fatalf("alice's reservations: %+v", mine)
		}
		// Bob cannot read Alice's reservation.
		if r := w.bob.do("GET", "/api/v1/flash/reservations/"+won.ReservationID, nil); r.Status != 404 {
			t.Fatalf("bob reads alice's reservation: %d", r.Status)
		}

		var adm flashSessionJSON
		w.operator.must(200, "GET", "/admin/api/v1/flash/sessions/"+s.ID, nil, &adm)
		if adm.SKUs[0].Won != 3 {
			t.Fatalf("admin view: %+v", adm)
		}
		var all struct {
			Items []flashSessionJSON `json:"items"`
		}
		w.operator.must(200, "GET", "/admin/api/v1/flash/sessions?status=scheduled", nil, &all)
		if len(all.Items) != 1 {
			t.Fatalf("admin list: %+v", all)
		}
		// Started: it can no longer be cancelled; a later one can, and gives
		// its quota back.
		if r := w.operator.do("POST", "/admin/api/v1/flash/sessions/"+s.ID+"/cancel", nil); r.Status != 409 || r.problem(t).Code != "flash_started" {
			t.Fatalf("cancel a started session: %d %s", r.Status, r.Body)
		}
		now := w.app.Clock.Now()
		later := w.flashSession(map[string]any{"warmup_at": nil, "starts_at": now.Add(time.Hour).Format(time.RFC3339),
			"ends_at": now.Add(2 * time.Hour).Format(time.RFC3339)})
		reserved := w.stockOf(w.skuA).Reserved
		var cancelled flashSessionJSON
		w.operator.must(200, "POST", "/admin/api/v1/flash/sessions/"+later.ID+"/cancel", nil, &cancelled)
		if cancelled.Status != "cancelled" || w.stockOf(w.skuA).Reserved != reserved-3 {
			t.Fatalf("cancelled: %+v, reserved %d -> %d", cancelled, reserved, w.stockOf(w.skuA).Reserved)
		}
		// A session not yet in warm-up is not shown.
		hidden := w.flashSession(map[string]any{"warmup_at": nil, "starts_at": now.Add(3 * time.Hour).Format(time.RFC3339),
			"ends_at": now.Add(4 * time.Hour).Format(time.RFC3339)})
		w.anon.must(404, "GET", "/api/v1/flash/sessions/"+hidden.ID, nil, nil)
		w.app.Clock.Advance(time.Hour)
		if r := w.press(w.alice, s.ID, "late-press-1", 1); r.Status != 409 || r.problem(t).Code != "flash_ended" {
			t.Fatalf("after the end: %d %s", r.Status, r.Body)
		}
	})
}

func TestFlashSaleBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		s := w.flashSession(nil)
		w.app.Clock.Advance(time.Minute)
		buy := "/api/v1/flash/sessions/" + s.ID + "/buy"
		body := func(over map[string]any) map[string]any {
			b := map[string]any{"sku_id": w.skuA, "qty": 1, "address_id": w.aliceAddr.ID, "request_id": "press-00001"}
			for k, v := range over {
				if v == nil {
					delete(b, k)
					continue
				}
				b[k] = v
			}
			return b
		}
		now := w.app.Clock.Now()
		sku := func(over map[string]any) []map[string]any {
			k := map[string]any{"sku_id": w.skuB, "price": 999, "quota": 3, "limit": 2}
			for n, v := range over {
				k[n] = v
			}
			return []map[string]any{k}
		}
		cases := []struct {
			name   string
			c      *client
			method string
			target string
			body   any
			status int
			code   string
			field  string
		}{
			{"malformed JSON", w.alice, "POST", buy, raw(`{"sku_id":`), 400, "malformed_json", ""},
			{"unknown field", w.alice, "POST", buy, body(map[string]any{"price": 1}), 400, "unknown_field", "price"},
			{"qty as a string", w.alice, "POST", buy, body(map[string]any{"qty": "1"}), 400, "invalid_type", "qty"},
			{"zero qty", w.alice, "POST", buy, body(map[string]any{"qty": 0}), 400, "out_of_range", "qty"},
			{"huge qty", w.alice, "POST", buy, body(map[string]any{"qty": 1e12}), 400, "out_of_range", "qty"},
			{"no request id", w.alice, "POST", buy, body(map[string]any{"request_id": nil}), 400, "invalid_request_id", "request_id"},
			{"short request id", w.alice, "POST", buy, body(map[string]any{"request_id": "abc"}), 400, "invalid_request_id", "request_id"},
			{"request id with spaces", w.alice, "POST", buy, body(map[string]any{"request_id": "a b c d e f"}), 400, "invalid_request_id", "request_id"},
			{"malformed SKU", w.alice, "POST", buy, body(map[string]any{"sku_id": "../x"}), 400, "invalid_id", "sku_id"},
			{"SKU not in the session", w.alice, "POST", buy, body(map[string]any{"sku_id": w.skuB}), 400, "not_in_session", "sku_id"},
			{"no address", w.alice, "POST", buy, body(map[string]any{"address_id": nil}), 400, "invalid_id", "address_id"},
			{"unknown session", w.alice, "POST", "/api/v1/flash/sessions/0190d7f6-0000-7000-8000-000000000000/buy", body(nil), 404, "flash_session_not_found", ""},
			{"malformed session", w.alice, "POST", "/api/v1/flash/sessions/x/buy", body(nil), 404, "flash_session_not_found", ""},
			{"no token", w.anon, "POST", buy, body(nil), 401, "unauthenticated", ""},
			{"operator token", w.owner, "POST", buy, body(nil), 401, "unauthenticated", ""},
			{"noop with a bad body", w.alice, "POST", "/api/v1/flash/noop", body(map[string]any{"qty": -1}), 400, "out_of_range", "qty"},
			{"unknown reservation", w.alice, "GET", "/api/v1/flash/reservations/AAAAAAAAAAAAAAAAAAAAAAAA", nil, 404, "flash_reservation_not_found", ""},
			{"malformed reservation", w.alice, "GET", "/api/v1/flash/reservations/x", nil, 404, "flash_reservation_not_found", ""},
			{"listing parameter", w.anon, "GET", "/api/v1/flash/sessions?x=1", nil, 400, "unknown_parameter", "x"},
			{"session by a finance user", w.finance, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(nil), 403, "forbidden", ""},
			{"session without name", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"name": "  "}), 400, "invalid_name", "name"},
			{"session in the past", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"warmup_at": nil, "starts_at": now.Add(-time.Minute).Format(time.RFC3339)}), 400, "invalid_time", "starts_at"},
			{"session ending first", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"ends_at": now.Format(time.RFC3339)}), 400, "invalid_time", "ends_at"},
			{"session of two days", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"ends_at": now.Add(48 * time.Hour).Format(time.RFC3339)}), 400, "invalid_time", "ends_at"},
			{"bad time", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"starts_at": "tomorrow"}), 400, "invalid_time", "starts_at"},
			{"no SKUs", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"skus": []any{}}), 400, "invalid_skus", "skus"},
			{"price not a discount", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"skus": sku(map[string]any{"price": 2999})}), 400, "not_a_discount", "skus[0].price"},
			{"zero quota", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"skus": sku(map[string]any{"quota": 0})}), 400, "out_of_range", "skus[0].quota"},
			{"quota above the stock", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"skus": sku(map[string]any{"quota": 101})}), 409, "out_of_stock", "skus[0].quota"},
			{"limit 0", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"skus": sku(map[string]any{"limit": 0})}), 400, "out_of_range", "skus[0].limit"},
			{"pay window of an hour", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"pay_minutes": 60}), 400, "out_of_range", "pay_minutes"},
			{"unknown SKU", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"skus": sku(map[string]any{"sku_id": "0190d7f6-0000-7000-8000-000000000000"})}), 400, "sku_not_found", "skus[0].sku_id"},
			{"long name", w.operator, "POST", "/admin/api/v1/flash/sessions", w.flashSessionBody(map[string]any{"name": strings.Repeat("秒", 61)}), 400, "invalid_name", "name"},
			{"unknown admin session", w.operator, "GET", "/admin/api/v1/flash/sessions/0190d7f6-0000-7000-8000-000000000000", nil, 404, "flash_session_not_found", ""},
			{"bad status filter", w.operator, "GET", "/admin/api/v1/flash/sessions?status=open", nil, 400, "invalid_parameter", "status"},
			{"cancel unknown", w.operator, "POST", "/admin/api/v1/flash/sessions/0190d7f6-0000-7000-8000-000000000000/cancel", nil, 404, "flash_session_not_found", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := c.c.do(c.method, c.target, c.body)
				p := r.problem(t)
				if r.Status != c.status || p.Code != c.code || (c.field != "" && p.Field != c.field) {
					t.Fatalf("%d %s, want %d %s %s", r.Status, r.Body, c.status, c.code, c.field)
				}
			})
		}
		// Nothing was sold or carved by any of it.
		var adm flashSessionJSON
		w.operator.must(200, "GET", "/admin/api/v1/flash/sessions/"+s.ID, nil, &adm)
		if err := w.app.Flash.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if adm.SKUs[0].Won != 0 || w.stockOf(w.skuB).Reserved != 0 {
			t.Fatalf("bad input changed something: %+v, skuB reserved %d", adm, w.stockOf(w.skuB).Reserved)
		}
	})
}
