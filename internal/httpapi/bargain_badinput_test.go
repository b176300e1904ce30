package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/compliance"
)

// TestBargainCompliance: publishing runs the compliance lint and refuses,
// naming the check, an activity that breaks any line; the report is
// readable in any state; only a reviewer (or the owner) publishes, only a
// draft changes.
func TestBargainCompliance(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			bw := newBargainWorld(t, engine, nil)
			now := bw.app.Clock.Now()
			cases := []struct {
				name   string
				change map[string]any
				code   string
			}{
				// skuA sells at 1999 fen: 30% is 600.
				{"reward over 30% of the sale price", map[string]any{"reward": map[string]any{"value": 601, "description": "大额券"}}, compliance.CodeReward},
				{"schedule not shown", map[string]any{"show_schedule": false}, compliance.CodeSchedule},
				{"longer than 7 days", map[string]any{"ends_at": now.Add(7*24*time.Hour + time.Minute).Format(time.RFC3339)}, compliance.CodeDuration},
				{"no rules", map[string]any{"rules": nil}, compliance.CodeRules},
				{"no cost notice", map[string]any{"share_notice": "快来帮我砍一刀！"}, compliance.CodeShareNotice},
				{"chains of 4", map[string]any{"max_depth": 4}, compliance.CodeDepth},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					var a bargainActivityJSON
					bw.operator.must(201, "POST", "/admin/api/v1/bargain-activities", bw.activityBody(c.change), &a)
					r := bw.reviewer.do("POST", "/admin/api/v1/bargain-activities/"+a.ID+"/publish", nil)
					if p := r.problem(t); r.Status != 400 || p.Code != "compliance_"+c.code || p.Field != "checks."+c.code {
						t.Fatalf("publish: %d %s", r.Status, r.Body)
					}
					var rep compliance.Report
					bw.reviewer.must(200, "GET", "/admin/api/v1/bargain-activities/"+a.ID+"/checks", nil, &rep)
					for _, ch := range rep.Checks {
						if ch.Passed == (ch.Code == c.code) {
							t.Fatalf("report: %+v", rep)
						}
					}
					bw.anon.must(404, "GET", "/api/v1/bargain-activities/"+a.ID, nil, nil)
				})
			}

			var a bargainActivityJSON
			bw.operator.must(201, "POST", "/admin/api/v1/bargain-activities", bw.activityBody(map[string]any{"max_depth": 4}), &a)
			bw.refused(bw.operator.do("POST", "/admin/api/v1/bargain-activities/"+a.ID+"/publish", nil), 403, "forbidden")
			bw.operator.must(200, "PUT", "/admin/api/v1/bargain-activities/"+a.ID, bw.activityBody(map[string]any{"helpers": 4}), &a)
			if a.Helpers != 4 || len(a.Schedule) != 4 {
				t.Fatalf("edited draft: %+v", a)
			}
			var rep compliance.Report
			bw.operator.must(200, "GET", "/admin/api/v1/bargain-activities/"+a.ID+"/checks", nil, &rep)
			if !rep.Passed {
				t.Fatalf("the edited draft fails: %+v", rep)
			}
			bw.owner.must(200, "POST", "/admin/api/v1/bargain-activities/"+a.ID+"/publish", nil, &a)
			bw.refused(bw.reviewer.do("POST", "/admin/api/v1/bargain-activities/"+a.ID+"/publish", nil), 409, "bargain_activity_not_draft")
			bw.refused(bw.operator.do("PUT", "/admin/api/v1/bargain-activities/"+a.ID, bw.activityBody(nil)), 409, "bargain_activity_not_draft")
			bw.anon.must(200, "GET", "/api/v1/bargain-activities/"+a.ID, nil, nil)

			bw.operator.must(200, "POST", "/admin/api/v1/bargain-activities/"+a.ID+"/end", nil, &a)
			if a.Status != "ended" {
				t.Fatalf("ended: %+v", a)
			}
			bw.refused(bw.operator.do("POST", "/admin/api/v1/bargain-activities/"+a.ID+"/end", nil), 409, "bargain_activity_ended")
			bw.refused(bw.alice.do("POST", "/api/v1/bargain-activities/"+a.ID+"/bargains", nil), 409, "bargain_activity_not_open")

			var page struct {
				Items      []bargainActivityJSON `json:"items"`
				NextCursor string                `json:"next_cursor"`
			}
			bw.operator.must(200, "GET", "/admin/api/v1/bargain-activities?limit=4", nil, &page)
			if len(page.Items) != 4 || page.NextCursor == "" || page.Items[0].ID != a.ID {
				t.Fatalf("first page: %+v", page)
			}
			next := page.NextCursor
			page.Items, page.NextCursor = nil, ""
			bw.operator.must(200, "GET", "/admin/api/v1/bargain-activities?cursor="+next, nil, &page)
			if len(page.Items) != 3 || page.NextCursor != "" {
				t.Fatalf("second page: %+v", page)
			}
			page.Items = nil
			bw.operator.must(200, "GET", "/admin/api/v1/bargain-activities?status=ended", nil, &page)
			if len(page.Items) != 1 {
				t.Fatalf("ended: %+v", page)
			}
		})
	}
}

// TestBargainBadInput sends every bargain endpoint what a careless or
// hostile client might, and checks each gets its clear error.
func TestBargainBadInput(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			bargainBadInput(t, newBargainWorld(t, engine, nil))
		})
	}
}

func bargainBadInput(t *testing.T, bw *bargainWorld) {
	act := bw.activity(nil)
	var draft bargainActivityJSON
	bw.operator.must(201, "POST", "/admin/api/v1/bargain-activities", bw.activityBody(nil), &draft)
	b := bw.open(bw.alice, act.ID)
	const unknown = "0190d7f6-0000-7000-8000-000000000000"
	body := bw.activityBody
	orderPath := "/api/v1/bargains/" + b.ID + "/order"
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
		{"malformed JSON", bw.operator, "POST", "/admin/api/v1/bargain-activities", raw(`{"title":`), nil, 400, "malformed_json", ""},
		{"an array", bw.operator, "POST", "/admin/api/v1/bargain-activities", raw(`[]`), nil, 400, "invalid_type", "body"},
		{"unknown field", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"price": 1}), nil, 400, "unknown_field", "price"},
		{"helpers as a string", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"helpers": "3"}), nil, 400, "invalid_type", "helpers"},
		{"price as a fraction", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"from_price": 25.99}), nil, 400, "invalid_type", "from_price"},
		{"price past int64", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"from_price": 1e30}), nil, 400, "invalid_type", "from_price"},
		{"101 helpers", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"helpers": 101}), nil, 400, "out_of_range", "helpers"},
		{"negative start", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"from_price": -1}), nil, 400, "validation_failed", "from_price"},
		{"over the list price", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"from_price": 2600}), nil, 400, "over_list_price", "from_price"},
		{"floor at the start", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"floor_price": 2599}), nil, 400, "out_of_range", "floor_price"},
		{"cuts under a fen", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"from_price": 5, "helpers": 6}), nil, 400, "cut_too_small", "helpers"},
		{"a 13-hour window", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"bargain_hours": 13}), nil, 400, "out_of_range", "bargain_hours"},
		{"a 7-hour window", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"bargain_hours": 7}), nil, 400, "out_of_range", "bargain_hours"},
		{"no quota", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"quota": 0}), nil, 400, "out_of_range", "quota"},
		{"buyer limit 0", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"per_buyer_limit": 0}), nil, 400, "out_of_range", "per_buyer_limit"},
		{"a free reward", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"reward": map[string]any{"value": 0, "description": "券"}}), nil, 400, "out_of_range", "reward.value"},
		{"reward with a price", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"reward": map[string]any{"value": 1, "description": "券", "coupon_id": "x"}}), nil, 400, "unknown_field", "coupon_id"},
		{"a time in words", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"starts_at": "tomorrow"}), nil, 400, "invalid_time", "starts_at"},
		{"ends first", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"ends_at": "2020-01-01T00:00:00Z"}), nil, 400, "invalid_window", "ends_at"},
		{"no SKU", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"sku_id": unknown}), nil, 400, "sku_not_found", "sku_id"},
		{"no title", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"title": nil}), nil, 400, "invalid_text", "title"},
		{"everything missing", bw.operator, "POST", "/admin/api/v1/bargain-activities", map[string]any{}, nil, 400, "validation_failed", "quota"},
		{"form body", bw.operator, "POST", "/admin/api/v1/bargain-activities", raw(`{}`), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "Content-Type"},
		{"body over 1 MiB", bw.operator, "POST", "/admin/api/v1/bargain-activities", body(map[string]any{"rules": strings.Repeat("x", 1<<20)}), nil, 413, "body_too_large", ""},
		{"finance creates", bw.finance, "POST", "/admin/api/v1/bargain-activities", body(nil), nil, 403, "forbidden", ""},
		{"a buyer creates", bw.alice, "POST", "/admin/api/v1/bargain-activities", body(nil), nil, 401, "unauthenticated", ""},
		{"edit nothing", bw.operator, "PUT", "/admin/api/v1/bargain-activities/" + unknown, body(nil), nil, 404, "bargain_activity_not_found", ""},
		{"edit a malformed id", bw.operator, "PUT", "/admin/api/v1/bargain-activities/1%20OR%201=1", body(nil), nil, 404, "bargain_activity_not_found", ""},
		{"edit with bad input", bw.operator, "PUT", "/admin/api/v1/bargain-activities/" + draft.ID, body(map[string]any{"helpers": 0}), nil, 400, "out_of_range", "helpers"},
		{"read nothing", bw.operator, "GET", "/admin/api/v1/bargain-activities/" + unknown, nil, nil, 404, "bargain_activity_not_found", ""},
		{"checks of nothing", bw.reviewer, "GET", "/admin/api/v1/bargain-activities/" + unknown + "/checks", nil, nil, 404, "bargain_activity_not_found", ""},
		{"finance reads checks", bw.finance, "GET", "/admin/api/v1/bargain-activities/" + draft.ID + "/checks", nil, nil, 403, "forbidden", ""},
		{"publish nothing", bw.reviewer, "POST", "/admin/api/v1/bargain-activities/x/publish", nil, nil, 404, "bargain_activity_not_found", ""},
		{"end nothing", bw.operator, "POST", "/admin/api/v1/bargain-activities/" + unknown + "/end", nil, nil, 404, "bargain_activity_not_found", ""},
		{"bad status filter", bw.operator, "GET", "/admin/api/v1/bargain-activities?status=live", nil, nil, 400, "invalid_parameter", "status"},
		{"forged cursor", bw.operator, "GET", "/admin/api/v1/bargain-activities?cursor=forged", nil, nil, 400, "invalid_cursor", "cursor"},
		{"limit 0", bw.operator, "GET", "/admin/api/v1/bargain-activities?limit=0", nil, nil, 400, "invalid_parameter", "limit"},
		{"unknown parameter", bw.operator, "GET", "/admin/api/v1/bargains?helper=1", nil, nil, 400, "unknown_parameter", "helper"},
		{"bad activity filter", bw.operator, "GET", "/admin/api/v1/bargains?activity_id=x", nil, nil, 400, "invalid_parameter", "activity_id"},
		{"bad bargain status", bw.operator, "GET", "/admin/api/v1/bargains?status=lost", nil, nil, 400, "invalid_parameter", "status"},
		{"bad help status", bw.operator, "GET", "/admin/api/v1/bargain-helps?status=pending", nil, nil, 400, "invalid_parameter", "status"},
		{"bad help bargain", bw.operator, "GET", "/admin/api/v1/bargain-helps?bargain_id=x", nil, nil, 400, "invalid_parameter", "bargain_id"},
		{"repeated parameter", bw.operator, "GET", "/admin/api/v1/bargain-helps?limit=1&limit=2", nil, nil, 400, "invalid_parameter", "limit"},
		{"approve nothing", bw.operator, "POST", "/admin/api/v1/bargain-helps/" + unknown + "/approve", nil, nil, 404, "bargain_help_not_found", ""},
		{"reject a malformed id", bw.operator, "POST", "/admin/api/v1/bargain-helps/x/reject", nil, nil, 404, "bargain_help_not_found", ""},
		{"a reviewer approves", bw.reviewer, "POST", "/admin/api/v1/bargain-helps/" + unknown + "/approve", nil, nil, 403, "forbidden", ""},

		{"a draft, publicly", bw.anon, "GET", "/api/v1/bargain-activities/" + draft.ID, nil, nil, 404, "bargain_activity_not_found", ""},
		{"no such activity", bw.anon, "GET", "/api/v1/bargain-activities/x", nil, nil, 404, "bargain_activity_not_found", ""},
		{"no such bargain", bw.anon, "GET", "/api/v1/bargains/" + unknown, nil, nil, 404, "bargain_not_found", ""},
		{"a malformed bargain id", bw.anon, "GET", "/api/v1/bargains/1%20OR%201=1", nil, nil, 404, "bargain_not_found", ""},
		{"open a draft", bw.bob, "POST", "/api/v1/bargain-activities/" + draft.ID + "/bargains", nil, nil, 404, "bargain_activity_not_found", ""},
		{"open nothing", bw.bob, "POST", "/api/v1/bargain-activities/" + unknown + "/bargains", nil, nil, 404, "bargain_activity_not_found", ""},
		{"open without a session", bw.anon, "POST", "/api/v1/bargain-activities/" + act.ID + "/bargains", nil, nil, 401, "unauthenticated", ""},
		{"open as an operator", bw.operator, "POST", "/api/v1/bargain-activities/" + act.ID + "/bargains", nil, nil, 401, "unauthenticated", ""},
		{"a bad idempotency key", bw.bob, "POST", "/api/v1/bargain-activities/" + act.ID + "/bargains", nil, []string{"Idempotency-Key", "é"}, 400, "invalid_idempotency_key", "Idempotency-Key"},
		{"help nothing", bw.bob, "POST", "/api/v1/bargains/" + unknown + "/helps", nil, []string{"X-Device-Id", "d"}, 404, "bargain_not_found", ""},
		{"help without a session", bw.anon, "POST", "/api/v1/bargains/" + b.ID + "/helps", nil, []string{"X-Device-Id", "d"}, 401, "unauthenticated", ""},
		{"a long device id", bw.bob, "POST", "/api/v1/bargains/" + b.ID + "/helps", nil, []string{"X-Device-Id", strings.Repeat("d", 129)}, 400, "device_required", "X-Device-Id"},
		{"order malformed", bw.alice, "POST", orderPath, raw(`{"address_id":`), nil, 400, "malformed_json", ""},
		{"order with a price", bw.alice, "POST", orderPath, map[string]any{"address_id": bw.aliceAddr.ID, "price": 0}, nil, 400, "unknown_field", "price"},
		{"order with no address", bw.alice, "POST", orderPath, map[string]any{}, nil, 400, "invalid_id", "address_id"},
		{"order with a long remark", bw.alice, "POST", orderPath, map[string]any{"address_id": bw.aliceAddr.ID, "remark": strings.Repeat("茶", 201)}, nil, 400, "too_long", "remark"},
		{"order to bob's address", bw.alice, "POST", orderPath, map[string]any{"address_id": bw.bobAddr.ID}, nil, 404, "address_not_found", ""},
		{"order alice's bargain", bw.bob, "POST", orderPath, map[string]any{"address_id": bw.bobAddr.ID}, nil, 404, "bargain_not_found", ""},
		{"order as text", bw.alice, "POST", orderPath, raw(`{}`), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "Content-Type"},
		{"order nothing", bw.alice, "POST", "/api/v1/bargains/" + unknown + "/order", map[string]any{"address_id": bw.aliceAddr.ID}, nil, 404, "bargain_not_found", ""},
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
	// Nothing of that opened, cut or ordered anything.
	var got bargainJSON
	bw.anon.must(200, "GET", "/api/v1/bargains/"+b.ID, nil, &got)
	if got.CutsApplied != 0 || got.Ordered {
		t.Fatalf("bad input changed the bargain: %+v", got)
	}

	// Repeats with one Idempotency-Key answer the first response.
	first := bw.bob.must(201, "POST", "/api/v1/bargain-activities/"+act.ID+"/bargains", nil, nil, "Idempotency-Key", "open-1")
	again := bw.bob.must(201, "POST", "/api/v1/bargain-activities/"+act.ID+"/bargains", nil, nil, "Idempotency-Key", "open-1")
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeated open: %s / %s", first.Body, again.Body)
	}
	o1 := bw.alice.must(201, "POST", orderPath, map[string]any{"address_id": bw.aliceAddr.ID}, nil, "Idempotency-Key", "order-1")
	o2 := bw.alice.must(201, "POST", orderPath, map[string]any{"address_id": bw.aliceAddr.ID}, nil, "Idempotency-Key", "order-1")
	if string(o1.Body) != string(o2.Body) || o2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeated order: %s / %s", o1.Body, o2.Body)
	}
	bw.refused(bw.alice.do("POST", orderPath, map[string]any{"address_id": bw.aliceAddr.ID, "remark": "x"}, "Idempotency-Key", "order-1"), 422, "idempotency_key_reused")
}
