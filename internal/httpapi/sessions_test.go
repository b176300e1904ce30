package httpapi_test

import (
	"strings"
	"testing"
)

// TestLogin covers both logins' refusals, and that nothing WeChat hands
// the server about a buyer ever reaches the client.
func TestLogin(t *testing.T) {
	w := newWorld(t, "sqlite")
	r := w.anon.must(201, "POST", "/api/v1/sessions", map[string]string{"code": "carol.1"}, nil)
	for _, secret := range []string{"openid", "session_key", "unionid"} {
		if strings.Contains(strings.ToLower(string(r.Body)), secret) {
			t.Errorf("login answer holds %s: %s", secret, r.Body)
		}
	}
	cases := []struct {
		name, path  string
		body        any
		status      int
		code, field string
	}{
		{"code used twice", "/api/v1/sessions", map[string]string{"code": "carol.1"}, 401, "invalid_login_code", ""},
		{"invalid code", "/api/v1/sessions", map[string]string{"code": "invalid.1"}, 401, "invalid_login_code", ""},
		{"WeChat rate limit", "/api/v1/sessions", map[string]string{"code": "ratelimit.1"}, 429, "login_rate_limited", ""},
		{"WeChat busy", "/api/v1/sessions", map[string]string{"code": "busy.1"}, 503, "wechat_unavailable", ""},
		{"no code", "/api/v1/sessions", map[string]string{"code": ""}, 400, "required", "code"},
		{"openid sent by the client", "/api/v1/sessions", map[string]string{"code": "carol.2", "openid": "o123"}, 400, "unknown_field", "openid"},
		{"wrong password", "/admin/api/v1/sessions", map[string]string{"email": "owner@shop.example", "password": "wrong password!"}, 401, "invalid_credentials", ""},
		{"unknown operator", "/admin/api/v1/sessions", map[string]string{"email": "nobody@shop.example", "password": password}, 401, "invalid_credentials", ""},
		{"role sent by the client", "/admin/api/v1/sessions", map[string]string{"email": "owner@shop.example", "password": password, "role": "owner"}, 400, "unknown_field", "role"},
	}
	for _, c := range cases {
		p := w.anon.must(c.status, "POST", c.path, c.body, nil).problem(t)
		if p.Code != c.code || (c.field != "" && !p.hasField(c.field)) {
			t.Errorf("%s: got %+v", c.name, p)
		}
	}
}
