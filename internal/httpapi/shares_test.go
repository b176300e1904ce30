package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/share"
)

type shareMade struct {
	Token       string `json:"token"`
	ShareID     string `json:"share_id"`
	URLPath     string `json:"url_path"`
	Depth       int    `json:"depth"`
	Reshareable bool   `json:"reshareable"`
	Disclosure  string `json:"disclosure"`
	QRScene     string `json:"qr_scene"`
}

type shareStats struct {
	Activities []map[string]any `json:"activities"`
	Sharers    []map[string]any `json:"sharers"`
}

func TestShareAttribution(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		var before, after catalog.Product
		w.bob.must(200, "GET", "/api/v1/products/"+w.product.ID, nil, &before)
		stockBefore := w.stockOf(w.skuA)

		var m shareMade
		w.alice.must(201, "POST", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": w.product.ID}, &m)
		if m.Depth != 1 || !m.Reshareable || m.URLPath != "/s/"+m.Token || m.Disclosure != share.Disclosure {
			t.Fatalf("share = %+v", m)
		}
		// Sharing unlocks nothing: the price and the stock are as they were.
		w.bob.must(200, "GET", "/api/v1/products/"+w.product.ID, nil, &after)
		if after.MinPrice != before.MinPrice || after.SKUs[0].SalePrice != before.SKUs[0].SalePrice || w.stockOf(w.skuA) != stockBefore {
			t.Fatalf("sharing changed the shop: %+v -> %+v", before, after)
		}

		// The client names its device; the visit keeps it, trimmed.
		var v map[string]any
		w.bob.must(201, "POST", "/api/v1/share-visits", map[string]any{"token": m.Token, "scene": "share_card"}, &v,
			"X-Device-Id", " dev-bob ")
		if v["target_id"] != w.product.ID || v["target_kind"] != "product" || v["own"] != false || v["share_id"] != m.ShareID {
			t.Fatalf("visit = %v", v)
		}
		// A mini-program code carries the share's qr_scene instead of the
		// token; both, neither, or a scene that names no share are refused.
		// (The sharer scans her own code here, so the numbers below, which
		// count only others' visits, stay as they are.)
		var q map[string]any
		w.alice.must(201, "POST", "/api/v1/share-visits", map[string]any{"qr_scene": m.QRScene, "scene": "qr_scan"}, &q)
		if q["share_id"] != m.ShareID || q["target_id"] != w.product.ID || q["own"] != true {
			t.Fatalf("visit by code = %v", q)
		}
		for _, body := range []map[string]any{
			{"token": m.Token, "qr_scene": m.QRScene, "scene": "qr_scan"},
			{"scene": "qr_scan"},
			{"qr_scene": "not-a-scene", "scene": "qr_scan"},
			{"qr_scene": strings.Repeat("0", 32), "scene": "qr_scan"},
		} {
			if p := w.bob.must(400, "POST", "/api/v1/share-visits", body, nil).problem(t); p.Code != "share_token_invalid" {
				t.Fatalf("visit %v: %+v", body, p)
			}
		}
		w.alice.must(201, "POST", "/api/v1/share-visits", map[string]any{"token": m.Token, "scene": "qr_scan"}, &v)
		if v["own"] != true {
			t.Fatalf("own visit = %v", v)
		}

		o := w.paid(w.bob, w.bobAddr.ID, w.skuA, 1)
		w.settle() // deliver order.paid again if anything is left: credits stay one
		visits, err := w.app.Store.ShareVisitsSince(context.Background(), o.BuyerID, time.Time{}, 10)
		if err != nil || len(visits) != 1 || visits[0].DeviceID != "dev-bob" {
			t.Fatalf("bob's stored visits = %+v, %v; want one, on dev-bob", visits, err)
		}
		var st shareStats
		w.operator.must(200, "GET", "/admin/api/v1/shares/stats", nil, &st)
		if len(st.Activities) != 1 || len(st.Sharers) != 1 {
			t.Fatalf("stats = %+v", st)
		}
		a := st.Activities[0]
		// active buyers: alice (shared, opened) and bob (opened) = 2.
		want := map[string]any{"sharers": 1.0, "shares": 1.0, "visits": 1.0, "unique_visitors": 1.0, "new_buyers": 1.0,
			"orders": 1.0, "gmv": float64(o.Total), "share_rate_bp": 5000.0, "conversion_bp": 10000.0, "k_factor": "1.00"}
		for k, wv := range want {
			if a[k] != wv {
				t.Errorf("stats %s = %v, want %v", k, a[k], wv)
			}
		}
		// The sharer row is alice's (not the buyer's), named by id alone:
		// the contract admits no other personal field.
		if sr := st.Sharers[0]; sr["sharer_id"] == o.BuyerID || sr["orders"] != 1.0 || sr["share_rate_bp"] != nil {
			t.Errorf("sharer row = %v", sr)
		}
		w.owner.must(200, "GET", "/admin/api/v1/shares/stats?activity_id=0190d7f6-0000-7000-8000-000000000000&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&limit=5", nil, &st)
		if len(st.Activities) != 0 || len(st.Sharers) != 0 {
			t.Fatalf("stats of an unknown activity = %+v", st)
		}
	})
}

func TestShareBadInput(t *testing.T) {
	w := newWorld(t, "sqlite")
	var m shareMade
	w.alice.must(201, "POST", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": w.product.ID}, &m)
	tampered := m.Token[:10] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, m.Token[10:11]) + m.Token[11:]
	for _, c := range []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"malformed JSON", "/api/v1/shares", raw(`{"target_kind":`), 400, "malformed_json", ""},
		{"unknown field", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": w.product.ID, "reward": 1}, 400, "unknown_field", "reward"},
		{"bad kind", "/api/v1/shares", map[string]any{"target_kind": "coupon", "target_id": w.product.ID}, 400, "invalid_target_kind", "target_kind"},
		{"bad id", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": "x"}, 400, "invalid_id", "target_id"},
		{"unknown product", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": "0190d7f6-0000-7000-8000-000000000000"}, 400, "share_target_not_found", "target_id"},
		{"forged parent", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": w.product.ID, "parent_token": tampered}, 400, "share_token_invalid", "parent_token"},
		{"malformed visit", "/api/v1/share-visits", raw(`[]`), 400, "invalid_type", "body"},
		{"unknown visit field", "/api/v1/share-visits", map[string]any{"token": m.Token, "scene": "search", "sharer_id": "x"}, 400, "unknown_field", "sharer_id"},
		{"bad scene", "/api/v1/share-visits", map[string]any{"token": m.Token, "scene": "moments"}, 400, "invalid_scene", "scene"},
		{"tampered token", "/api/v1/share-visits", map[string]any{"token": tampered, "scene": "search"}, 400, "share_token_invalid", "token"},
		{"no token", "/api/v1/share-visits", map[string]any{"scene": "search"}, 400, "share_token_invalid", "token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := w.bob.do("POST", c.path, c.body)
			p := r.problem(t)
			if r.Status != c.status || p.Code != c.code || (c.field != "" && !p.hasField(c.field)) {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
	}
	// A device header that cannot be a device id is refused, naming it.
	for _, device := range []string{strings.Repeat("d", 129), "two words", "设备", "dev\x01"} {
		r := w.bob.do("POST", "/api/v1/share-visits", map[string]any{"token": m.Token, "scene": "search"}, "X-Device-Id", device)
		if p := r.problem(t); r.Status != 400 || p.Code != "invalid_device_id" || p.Field != "X-Device-Id" {
			t.Errorf("device %q: %d %s", device, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/api/v1/shares", "/api/v1/share-visits"} {
		if r := w.anon.do("POST", path, map[string]any{}); r.Status != 401 {
			t.Errorf("%s without a session: %d", path, r.Status)
		}
	}
	for _, q := range []string{"?activity_id=x", "?from=yesterday", "?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "?limit=0", "?sharer=1"} {
		if r := w.owner.do("GET", "/admin/api/v1/shares/stats"+q, nil); r.Status != 400 {
			t.Errorf("stats%s: %d %s", q, r.Status, r.Body)
		}
	}

	// A chain of three; the fourth level is refused.
	carol, dave := w.buyerLogin("carol"), w.buyerLogin("dave")
	tok := m.Token
	for i, c := range []*client{w.bob, carol} {
		c.must(201, "POST", "/api/v1/share-visits", map[string]any{"token": tok, "scene": "share_card"}, nil)
		var next shareMade
		c.must(201, "POST", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": w.product.ID, "parent_token": tok}, &next)
		if next.Depth != i+2 || next.Reshareable != (i == 0) {
			t.Fatalf("level %d = %+v", i+2, next)
		}
		tok = next.Token
	}
	dave.must(201, "POST", "/api/v1/share-visits", map[string]any{"token": tok, "scene": "share_card"}, nil)
	r := dave.do("POST", "/api/v1/shares", map[string]any{"target_kind": "product", "target_id": w.product.ID, "parent_token": tok})
	if p := r.problem(t); r.Status != 409 || p.Code != "share_depth_exceeded" || p.Field != "parent_token" {
		t.Fatalf("a fourth level: %d %s", r.Status, r.Body)
	}
}
