package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/datarights"
)

func consentState(t *testing.T, c *client, p consent.Purpose) consent.State {
	t.Helper()
	var l struct {
		Items []consent.State `json:"items"`
	}
	c.must(200, "GET", "/api/v1/consents", nil, &l)
	for _, st := range l.Items {
		if st.Purpose == p {
			return st
		}
	}
	t.Fatalf("purpose %s not listed", p)
	return consent.State{}
}

// buyerID is the id of the buyer a client is logged in as.
func (w *world) buyerID(c *client) string {
	w.t.Helper()
	p, err := w.app.Identity.Authenticate(w.t.Context(), c.token)
	if err != nil {
		w.t.Fatal(err)
	}
	return p.ID
}

func TestConsents(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		const mkt = "/api/v1/consents/personalised_marketing"
		var pols struct {
			Items []consent.PolicySet `json:"items"`
		}
		w.anon.must(200, "GET", "/api/v1/consent-policies", nil, &pols)
		if len(pols.Items) != len(consent.Purposes) || pols.Items[0].Current != 1 {
			t.Fatalf("policies: %+v", pols)
		}
		if consentState(t, w.alice, consent.PersonalisedMarketing).Granted {
			t.Fatal("granted before any grant")
		}

		var st consent.State
		w.alice.must(200, "POST", mkt+"/grant", map[string]any{"policy_version": 1}, &st)
		if !st.Granted || st.LastAction == nil || st.LastAction.PolicyVersion != 1 {
			t.Fatalf("grant: %+v", st)
		}
		// A repeat appends nothing.
		w.alice.must(200, "POST", mkt+"/grant", map[string]any{"policy_version": 1}, nil)
		w.bob.must(200, "POST", "/api/v1/consents/share_with_promoter/grant", map[string]any{"policy_version": 1}, nil)

		// The Go API campaigns call sees the withdrawal at once.
		svc := &consent.Service{Store: w.app.Store, Clock: w.app.Clock}
		aliceID := w.buyerID(w.alice)
		if ok, err := svc.Allowed(t.Context(), aliceID, consent.PersonalisedMarketing); err != nil || !ok {
			t.Fatalf("allowed before withdrawal: %v %v", ok, err)
		}
		w.app.Clock.Advance(time.Second)
		w.alice.must(200, "POST", mkt+"/withdraw", nil, &st)
		if st.Granted {
			t.Fatalf("withdraw: %+v", st)
		}
		if ok, _ := svc.Allowed(t.Context(), aliceID, consent.PersonalisedMarketing); ok {
			t.Fatal("withdrawal not effective at once")
		}
		w.alice.must(200, "POST", mkt+"/withdraw", nil, nil) // a repeat: nothing more

		// The operator reads the history, the identity masked.
		var view struct {
			Buyer  struct{ ID, Name, Phone string }
			States []consent.State  `json:"states"`
			Items  []consent.Record `json:"items"`
		}
		w.operator.must(200, "GET", "/admin/api/v1/buyers/"+aliceID+"/consents?limit=10", nil, &view)
		if len(view.Items) != 2 || view.Items[0].Action != consent.Withdraw || view.Items[1].Action != consent.Grant {
			t.Fatalf("history: %+v", view.Items)
		}
		if view.Buyer.Phone == "" || strings.Contains(view.Buyer.Phone, "12345") || view.Buyer.Name == "张三丰" {
			t.Fatalf("identity not masked: %+v", view.Buyer)
		}

		// A new policy version: earlier grants stop counting.
		w.alice.must(200, "POST", mkt+"/grant", map[string]any{"policy_version": 1}, nil)
		var pol consent.Policy
		w.reviewer.must(201, "POST", "/admin/api/v1/consent-policies",
			map[string]any{"purpose": "personalised_marketing", "summary": "adds browsing history"}, &pol)
		if pol.Version != 2 {
			t.Fatalf("published %+v", pol)
		}
		if st := consentState(t, w.alice, consent.PersonalisedMarketing); st.Granted || st.CurrentVersion != 2 {
			t.Fatalf("after a new version: %+v", st)
		}
		if r := w.alice.do("POST", mkt+"/grant", map[string]any{"policy_version": 1}); r.Status != 409 || r.problem(t).Code != "policy_outdated" {
			t.Fatalf("grant of the old version: %d %s", r.Status, r.Body)
		}
		w.alice.must(200, "POST", mkt+"/grant", map[string]any{"policy_version": 2}, nil)
		w.operator.must(200, "GET", "/admin/api/v1/consent-policies", nil, &pols)
		if pols.Items[0].Current != 2 || pols.Items[0].Versions[0].PublishedBy == "" {
			t.Fatalf("admin policies: %+v", pols.Items[0])
		}
		pols.Items = nil // decode afresh: json keeps a reused element's fields
		w.anon.must(200, "GET", "/api/v1/consent-policies", nil, &pols)
		if pols.Items[0].Versions[0].PublishedBy != "" {
			t.Fatal("the public list names the operator")
		}
	})
}

func TestConsentBadInput(t *testing.T) {
	w := newWorld(t, "sqlite")
	const grant = "/api/v1/consents/personalised_marketing/grant"
	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"malformed JSON", w.alice, "POST", grant, raw(`{"policy_version":`), 400, "malformed_json"},
		{"unknown field", w.alice, "POST", grant, raw(`{"policy_version":1,"granted":true}`), 400, "unknown_field"},
		{"wrong type", w.alice, "POST", grant, raw(`{"policy_version":"1"}`), 400, "invalid_type"},
		{"no version", w.alice, "POST", grant, raw(`{}`), 400, "invalid_policy_version"},
		{"a future version", w.alice, "POST", grant, raw(`{"policy_version":7}`), 409, "policy_outdated"},
		{"unknown purpose", w.alice, "POST", "/api/v1/consents/selling_data/grant", raw(`{"policy_version":1}`), 400, "unknown_purpose"},
		{"unknown purpose, withdraw", w.alice, "POST", "/api/v1/consents/selling_data/withdraw", nil, 400, "unknown_purpose"},
		{"no session", w.anon, "POST", grant, raw(`{"policy_version":1}`), 401, ""},
		{"publish: unknown purpose", w.owner, "POST", "/admin/api/v1/consent-policies", raw(`{"purpose":"x","summary":"s"}`), 400, "unknown_purpose"},
		{"publish: empty summary", w.owner, "POST", "/admin/api/v1/consent-policies", raw(`{"purpose":"sensitive_data","summary":" "}`), 400, "invalid_summary"},
		{"publish: unknown field", w.owner, "POST", "/admin/api/v1/consent-policies", raw(`{"purpose":"sensitive_data","summary":"s","version":9}`), 400, "unknown_field"},
		{"publish: an operator may not", w.operator, "POST", "/admin/api/v1/consent-policies", raw(`{"purpose":"sensitive_data","summary":"s"}`), 403, "forbidden"},
		{"history: not a buyer", w.operator, "GET", "/admin/api/v1/buyers/nope/consents", nil, 404, "buyer_not_found"},
		{"history: no such buyer", w.operator, "GET", "/admin/api/v1/buyers/0190d7f6-0000-7000-8000-000000000000/consents", nil, 404, "buyer_not_found"},
		{"history: forged cursor", w.operator, "GET", "/admin/api/v1/buyers/" + w.buyerID(w.bob) + "/consents?cursor=bm90LWEtY3Vyc29y", nil, 400, "invalid_cursor"},
		{"history: a buyer may not", w.alice, "GET", "/admin/api/v1/buyers/" + w.buyerID(w.bob) + "/consents", nil, 401, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.do(tc.method, tc.path, tc.body)
			if r.Status != tc.status || (tc.code != "" && !problemHas(r.problem(t), tc.code)) {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	// A buyer's consents are theirs alone: bob's grant is not alice's.
	w.bob.must(200, "POST", grant, raw(`{"policy_version":1}`), nil)
	if consentState(t, w.alice, consent.PersonalisedMarketing).Granted {
		t.Fatal("bob's grant shows as alice's")
	}
}

func TestDataExportAndErasure(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		carol := w.buyerLogin("carol")
		var addr struct{ ID string }
		carol.must(201, "POST", "/api/v1/addresses", addressBody("王小明", "13711112222", "拱墅区湖墅南路9号"), &addr)
		// With a key: the stored response holds the ship-to in clear.
		var o struct {
			ID    string `json:"id"`
			Total int64  `json:"total"`
		}
		carol.must(201, "POST", "/api/v1/orders", directBuy(addr.ID, w.skuA, 1), &o, "Idempotency-Key", "carol-1")
		carol.must(200, "POST", "/api/v1/consents/subscription_messages/grant", map[string]any{"policy_version": 1}, nil)
		carolID := w.buyerID(carol)

		var x datarights.Export
		carol.must(200, "GET", "/api/v1/me/data-export", nil, &x)
		if x.Profile.ID != carolID || len(x.Addresses) != 1 || x.Addresses[0].Phone != "13711112222" ||
			len(x.Orders) != 1 || x.Orders[0].ID != o.ID || len(x.Consents) != 1 {
			t.Fatalf("export: %+v", x)
		}
		if r := carol.do("GET", "/api/v1/me/data-export", nil); r.Status != 429 || r.problem(t).Code != "export_too_soon" {
			t.Fatalf("second export: %d %s", r.Status, r.Body)
		}
		// Another buyer's export holds none of carol's data.
		var bx datarights.Export
		w.bob.must(200, "GET", "/api/v1/me/data-export", nil, &bx)
		if len(bx.Orders) != 0 || len(bx.Addresses) != 1 || bx.Addresses[0].Phone == "13711112222" {
			t.Fatalf("bob's export: %+v", bx)
		}
		w.app.Clock.Advance(time.Hour)
		carol.must(200, "GET", "/api/v1/me/data-export", nil, nil)

		var e datarights.Erasure
		carol.must(200, "POST", "/api/v1/me/erasure", nil, &e)
		if e.Repeated || e.Addresses != 1 || e.Orders != 1 || e.Sessions < 1 || e.Consents != 1 || e.Replays != 1 {
			t.Fatalf("erasure: %+v", e)
		}
		// The session ended with it.
		if r := carol.do("POST", "/api/v1/me/erasure", nil); r.Status != 401 {
			t.Fatalf("repeat with the old session: %d", r.Status)
		}
		// The order keeps its money; the operator sees no person.
		var got struct {
			Total  int64 `json:"total"`
			ShipTo struct {
				Name, Phone, Detail, City string
			} `json:"ship_to"`
		}
		w.operator.must(200, "GET", "/admin/api/v1/orders/"+o.ID, nil, &got)
		if got.Total != o.Total || got.ShipTo.Phone != "" || got.ShipTo.Detail != "" || got.ShipTo.City != "杭州市" {
			t.Fatalf("erased order as the operator sees it: %+v", got)
		}
		var log audit.Page
		w.owner.must(200, "GET", "/admin/api/v1/audit?actor_id="+carolID, nil, &log)
		if len(log.Entries) != 9 || log.Entries[0].Action != "erasure: completed" {
			t.Fatalf("audit: %+v", log.Entries)
		}
		// The same WeChat identity logs in as a new, empty buyer.
		again := w.buyerLogin("carol")
		if id := w.buyerID(again); id == carolID {
			t.Fatal("the erased buyer logged in again")
		}
		var as struct{ Items []any }
		again.must(200, "GET", "/api/v1/addresses", nil, &as)
		if len(as.Items) != 0 {
			t.Fatalf("the new buyer has %d addresses", len(as.Items))
		}
	})
}
