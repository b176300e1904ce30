package httpapi_test

import (
	"strings"
	"testing"

	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/identity"
)

type crmBuyerJSON struct {
	Profile crm.Profile `json:"profile"`
	Moves   []crm.Move  `json:"moves"`
}

type previewJSON struct {
	Count  int `json:"count"`
	Sample []struct {
		crm.Profile
		Name  string `json:"name"`
		Phone string `json:"phone"`
	} `json:"sample"`
}

// TestCRM walks the operators' crm API: rules, a recompute, layer and
// cell counts, a buyer's history, tags, segments with a masked preview.
func TestCRM(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		op := w.operator
		alice, bob := w.buyerID(w.alice), w.buyerID(w.bob)
		w.paid(w.alice, w.aliceAddr.ID, w.skuA, 1)
		w.settle()

		var rules crm.Rules
		op.must(200, "GET", "/admin/api/v1/crm/rules", nil, &rules)
		if rules != crm.DefaultRules {
			t.Fatalf("rules = %+v", rules)
		}
		rules.LoyalSpent = 1000 // alice's one order makes her loyal
		op.must(200, "PUT", "/admin/api/v1/crm/rules", rules, &rules)
		var res map[string]int
		op.must(200, "POST", "/admin/api/v1/crm/recompute", nil, &res)
		if res["profiles"] != 2 || res["segments"] != 0 {
			t.Fatalf("recompute = %v", res)
		}

		var layers struct {
			Layers map[crm.Layer]int `json:"layers"`
		}
		op.must(200, "GET", "/admin/api/v1/crm/layers", nil, &layers)
		if layers.Layers[crm.Loyal] != 1 || layers.Layers[crm.New] != 1 {
			t.Fatalf("layers = %v", layers.Layers)
		}
		var cells struct {
			Cells map[crm.Cell]int `json:"cells"`
		}
		op.must(200, "GET", "/admin/api/v1/crm/rfm", nil, &cells)
		// One scored buyer: rank 1 of 1 on every axis, R=1 F=1.
		if cells.Cells[crm.Hibernating] != 1 || len(cells.Cells) != len(crm.Cells) {
			t.Fatalf("cells = %v", cells.Cells)
		}
		var ab crmBuyerJSON
		op.must(200, "GET", "/admin/api/v1/crm/buyers/"+alice, nil, &ab)
		if ab.Profile.Layer != "loyal" || len(ab.Moves) != 2 || ab.Moves[1].From != crm.Other || ab.Moves[1].To != crm.Loyal || ab.Profile.OrderCount != 1 {
			t.Fatalf("alice = %+v", ab)
		}

		var tags struct {
			Tags []string `json:"tags"`
		}
		op.must(200, "POST", "/admin/api/v1/crm/buyers/"+bob+"/tags", map[string]string{"tag": "tea lover"}, &tags)
		if strings.Join(tags.Tags, ",") != "tea lover" {
			t.Fatalf("tags = %v", tags.Tags)
		}
		op.must(200, "DELETE", "/admin/api/v1/crm/buyers/"+bob+"/tags/tea%20lover", nil, &tags)
		if len(tags.Tags) != 0 {
			t.Fatalf("tags after removal = %v", tags.Tags)
		}

		// A rule tag, then a segment that uses it.
		var big crm.Segment
		op.must(201, "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "spender", "expr": "total_spent > 0", "tag": true}, &big)
		if big.Members != 1 {
			t.Fatalf("rule tag members = %d", big.Members)
		}
		crmProblem(t, w.operator.do("POST", "/admin/api/v1/crm/buyers/"+alice+"/tags", map[string]string{"tag": "spender"}), 400, "tag_is_rule_made")
		var seg crm.Segment
		op.must(201, "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "hz spenders",
			"expr": `"spender" in tags && city == "杭州市" && rfm.m >= 1`}, &seg)
		if seg.Members != 1 {
			t.Fatalf("segment members = %d", seg.Members)
		}
		var pv previewJSON
		op.must(200, "POST", "/admin/api/v1/crm/segments/preview", map[string]string{"expr": `layer in ["loyal", "new"]`}, &pv)
		if pv.Count != 2 || len(pv.Sample) != 2 {
			t.Fatalf("preview = %+v", pv)
		}
		for _, s := range pv.Sample {
			if s.BuyerID == alice && (s.Name != identity.MaskName("张三丰") || s.Phone != "138******78") {
				t.Fatalf("alice's sample not masked as the rules say: %q %q", s.Name, s.Phone)
			}
			if strings.Contains(s.Phone, "12345") || s.Name == "张三丰" || s.Name == "李四" {
				t.Fatalf("sample leaks personal data: %+v", s)
			}
		}
		op.must(200, "GET", "/admin/api/v1/crm/segments/"+seg.ID, nil, &seg)
		op.must(200, "PUT", "/admin/api/v1/crm/segments/"+seg.ID, map[string]any{"name": "hz", "expr": `city == "杭州市"`}, &seg)
		if seg.Name != "hz" || seg.Members != 2 {
			t.Fatalf("updated segment = %+v", seg)
		}
		var list struct {
			Segments []crm.Segment `json:"segments"`
		}
		op.must(200, "GET", "/admin/api/v1/crm/segments", nil, &list)
		if len(list.Segments) != 2 {
			t.Fatalf("segments = %+v", list.Segments)
		}
		op.must(204, "DELETE", "/admin/api/v1/crm/segments/"+seg.ID, nil, nil)
		crmProblem(t, op.do("GET", "/admin/api/v1/crm/segments/"+seg.ID, nil), 404, "segment_not_found")
	})
}

// TestCRMBadInput: every refusal names its field and code.
func TestCRMBadInput(t *testing.T) {
	w := newWorld(t, "sqlite")
	op := w.operator
	rules := map[string]any{"new_days": 3, "active_visits": 5, "active_window_days": 30, "silent_days": 30,
		"loyal_spent": 500000, "loyal_window_days": 365, "rfm_window_days": 365}
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range rules {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	w.operator.must(201, "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "taken", "expr": "true"}, nil)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"malformed JSON", "PUT", "/admin/api/v1/crm/rules", raw(`{"new_days":`), 400, "malformed_json", ""},
		{"unknown field", "PUT", "/admin/api/v1/crm/rules", with("bonus", 1), 400, "unknown_field", "bonus"},
		{"wrong type", "PUT", "/admin/api/v1/crm/rules", with("new_days", "three"), 400, "invalid_type", "new_days"},
		{"float money", "PUT", "/admin/api/v1/crm/rules", with("loyal_spent", 12.5), 400, "invalid_type", "loyal_spent"},
		{"missing field", "PUT", "/admin/api/v1/crm/rules", with("silent_days", nil), 400, "required", "silent_days"},
		{"out of range", "PUT", "/admin/api/v1/crm/rules", with("rfm_window_days", 0), 400, "out_of_range", "rfm_window_days"},
		{"negative money", "PUT", "/admin/api/v1/crm/rules", with("loyal_spent", -1), 400, "out_of_range", "loyal_spent"},
		{"visits beyond window", "PUT", "/admin/api/v1/crm/rules", with("active_visits", 31), 400, "out_of_range", "active_visits"},
		{"bad expression", "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "x", "expr": `layer == `}, 400, "bad_expression", "expr"},
		{"wrong expression type", "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "x", "expr": `rfm.r + 1`}, 400, "bad_expression", "expr"},
		{"unknown name", "POST", "/admin/api/v1/crm/segments/preview", map[string]any{"expr": `spend > 1`}, 400, "bad_expression", "expr"},
		{"empty expression", "POST", "/admin/api/v1/crm/segments/preview", map[string]any{"expr": ""}, 400, "required", "expr"},
		{"bad name", "POST", "/admin/api/v1/crm/segments", map[string]any{"name": " ", "expr": "true"}, 400, "invalid", "name"},
		{"name taken", "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "taken", "expr": "true"}, 409, "segment_name_taken", ""},
		{"segment unknown field", "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "y", "expr": "true", "sql": "1"}, 400, "unknown_field", "sql"},
		{"unknown segment", "PUT", "/admin/api/v1/crm/segments/nope", map[string]any{"name": "y", "expr": "true"}, 404, "segment_not_found", ""},
		{"unknown buyer", "GET", "/admin/api/v1/crm/buyers/nope", nil, 404, "crm_profile_not_found", ""},
		{"bad tag", "POST", "/admin/api/v1/crm/buyers/" + w.buyerID(w.alice) + "/tags", map[string]any{"tag": "<script>"}, 400, "invalid", "tag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := crmProblem(t, op.do(c.method, c.path, c.body), c.status, c.code)
			if c.field != "" && p.Field != c.field {
				t.Fatalf("field = %q, want %q", p.Field, c.field)
			}
		})
	}
	// The compiler's position reaches the operator.
	p := crmProblem(t, op.do("POST", "/admin/api/v1/crm/segments/preview", map[string]any{"expr": `layer == "new" && rfm.q > 1`}), 400, "bad_expression")
	if !strings.Contains(p.Detail, "line 1, column") {
		t.Fatalf("detail = %q", p.Detail)
	}
}

// crmProblem checks a refusal's status and code and returns its body.
func crmProblem(t *testing.T, r reply, status int, code string) problem {
	t.Helper()
	p := r.problem(t)
	if r.Status != status || p.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", r.Status, p.Code, r.Body, status, code)
	}
	return p
}
