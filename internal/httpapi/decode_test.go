package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/siyu-commerce/siyu/internal/errs"
)

func TestDecode(t *testing.T) {
	type body struct {
		Lines []lineRequest `json:"lines"`
		Name  string        `json:"name"`
	}
	cases := []struct {
		name, ct, body string
		status         int
		code, field    string
		wantName       string
	}{
		{"ok", "application/json", `{"name":"a"}`, 0, "", "", "a"},
		{"charset utf-8", "application/json; charset=UTF-8", `{"name":"a"}`, 0, "", "", "a"},
		{"empty", "application/json", ``, 400, "malformed_json", "", ""},
		{"syntax", "application/json", `{"name":`, 400, "malformed_json", "", ""},
		{"bad token", "application/json", `{"name":x}`, 400, "malformed_json", "", ""},
		{"trailing", "application/json", `{"name":"a"} {}`, 400, "malformed_json", "", ""},
		{"trailing garbage", "application/json", `{"name":"a"}x`, 400, "malformed_json", "", ""},
		{"unknown", "application/json", `{"name":"a","price":1}`, 400, "unknown_field", "price", ""},
		{"unknown nested", "application/json", `{"lines":[{"sku_id":"x","qty":1,"unit_price":5}]}`, 400, "unknown_field", "unit_price", ""},
		{"wrong type", "application/json", `{"name":5}`, 400, "invalid_type", "name", ""},
		{"wrong nested type", "application/json", `{"lines":[{"qty":"2"}]}`, 400, "invalid_type", "lines.qty", ""},
		{"huge qty", "application/json", `{"lines":[{"qty":1e30}]}`, 400, "invalid_type", "lines.qty", ""},
		{"fractional qty", "application/json", `{"lines":[{"qty":1.5}]}`, 400, "invalid_type", "lines.qty", ""},
		{"array body", "application/json", `[]`, 400, "invalid_type", "body", ""},
		{"no content type", "", `{"name":"a"}`, 415, "unsupported_media_type", "Content-Type", ""},
		{"form", "application/x-www-form-urlencoded", `name=a`, 415, "unsupported_media_type", "Content-Type", ""},
		{"latin1", "application/json; charset=latin1", `{"name":"a"}`, 415, "unsupported_media_type", "Content-Type", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/x", strings.NewReader(c.body))
			if c.ct != "" {
				r.Header.Set("Content-Type", c.ct)
			}
			var dst body
			err := decode(r, &dst)
			if c.status == 0 {
				if err != nil || dst.Name != c.wantName {
					t.Fatalf("decode = %v, %+v", err, dst)
				}
				return
			}
			p := problemOf(err)
			if p.Status != c.status || p.Code != c.code || p.Field != c.field {
				t.Fatalf("got %d %s field %q (%v); want %d %s field %q", p.Status, p.Code, p.Field, err, c.status, c.code, c.field)
			}
		})
	}
}

func TestDecodeBodyOverCap(t *testing.T) {
	big := `{"name":"` + strings.Repeat("a", 2000) + `"}`
	r := httptest.NewRequest("POST", "/x", strings.NewReader(big))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1000)
	var dst struct {
		Name string `json:"name"`
	}
	if p := problemOf(decode(r, &dst)); p.Status != 413 || p.Code != "body_too_large" {
		t.Fatalf("got %+v", p)
	}
}

func TestProblemOf(t *testing.T) {
	var l errs.List
	l.Add("a", "bad_a", "a is bad")
	l.Add("b", "bad_b", "b is bad")
	cases := []struct {
		err    error
		status int
		code   string
		fields int
	}{
		{errs.E(errs.NotFound, "order_not_found", "no"), 404, "order_not_found", 0},
		{errs.E(errs.Conflict, "out_of_stock", "no"), 409, "out_of_stock", 0},
		{errs.E(errs.Unprocessable, "idempotency_key_reused", "no"), 422, "idempotency_key_reused", 0},
		{errs.E(errs.TooMany, "slow_down", "no"), 429, "slow_down", 0},
		{errs.E(errs.Unavailable, "down", "no"), 503, "down", 0},
		{errs.E(errs.Forbidden, "forbidden", "no"), 403, "forbidden", 0},
		{errs.Field("qty", "qty_out_of_range", "no"), 400, "qty_out_of_range", 1},
		{l.Err(), 400, "validation_failed", 2},
		{errs.Wrap(errs.E(errs.NotFound, "x", "no"), "context"), 404, "x", 0},
		{errs.Wrap(errString("database is on fire"), "load"), 500, "internal", 0},
		{errString("plain"), 500, "internal", 0},
	}
	for _, c := range cases {
		p := problemOf(c.err)
		if p.Status != c.status || p.Code != c.code || len(p.Errors) != c.fields {
			t.Errorf("%v: got %d %s %d fields", c.err, p.Status, p.Code, len(p.Errors))
		}
		if p.Status == 500 && p.Detail != internalDetail {
			t.Errorf("%v: a 500 shows %q", c.err, p.Detail)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
