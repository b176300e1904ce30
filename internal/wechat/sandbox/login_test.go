package sandbox_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

const (
	appID  = "wx0123456789abcdef"
	secret = "sandbox-secret"
)

type answer struct {
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid"`
	SessionKey string `json:"session_key"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

func exchange(t *testing.T, h http.Handler, params map[string]string) answer {
	t.Helper()
	q := url.Values{"appid": {appID}, "secret": {secret}, "grant_type": {"authorization_code"}}
	for k, v := range params {
		q.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sns/jscode2session?"+q.Encode(), nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d, want 200 whatever the outcome (as WeChat answers)", rec.Code)
	}
	var a answer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("reply %q: %v", rec.Body, err)
	}
	return a
}

var openIDShape = regexp.MustCompile(`^o[A-Za-z0-9_-]{27}$`)

func TestLoginGivesStableOpenIDs(t *testing.T) {
	key := []byte("a key the sandbox shop keeps across restarts")
	sim := sandbox.NewLogin(appID, secret, key)

	a1 := exchange(t, sim, map[string]string{"js_code": "alice"})
	a2 := exchange(t, sim, map[string]string{"js_code": "alice.2"})
	b := exchange(t, sim, map[string]string{"js_code": "bob.1"})
	if a1.ErrCode != 0 || a2.ErrCode != 0 || b.ErrCode != 0 {
		t.Fatalf("errcodes %d %d %d, want 0", a1.ErrCode, a2.ErrCode, b.ErrCode)
	}
	if !openIDShape.MatchString(a1.OpenID) || !openIDShape.MatchString(a1.UnionID) {
		t.Fatalf("openid %q / unionid %q are not shaped like WeChat's", a1.OpenID, a1.UnionID)
	}
	if a1.OpenID != a2.OpenID || a1.OpenID != sim.OpenID("alice") || a1.UnionID != a2.UnionID {
		t.Fatalf("alice got %q then %q, want the same openid", a1.OpenID, a2.OpenID)
	}
	if b.OpenID == a1.OpenID || a1.UnionID == a1.OpenID {
		t.Fatal("two users, or an openid and a unionid, share an id")
	}
	if a1.SessionKey == a2.SessionKey {
		t.Fatal("two exchanges got the same session_key")
	}
	if raw, err := base64.StdEncoding.DecodeString(a1.SessionKey); err != nil || len(raw) != 16 {
		t.Fatalf("session_key %q is not 16 bytes in base64", a1.SessionKey)
	}

	restarted := sandbox.NewLogin(appID, secret, key)
	if got := exchange(t, restarted, map[string]string{"js_code": "alice.3"}); got.OpenID != a1.OpenID {
		t.Fatalf("after a restart with the same key alice is %q, was %q", got.OpenID, a1.OpenID)
	}
	if sandbox.NewLogin("wxanother", secret, key).OpenID("alice") == a1.OpenID {
		t.Fatal("another mini program got the same openid: WeChat's are per app")
	}
	if sandbox.NewLogin(appID, secret, nil).OpenID("alice") == a1.OpenID {
		t.Fatal("a random key gave the same openid")
	}
}

func TestLoginErrors(t *testing.T) {
	sim := sandbox.NewLogin(appID, secret, nil)
	exchange(t, sim, map[string]string{"js_code": "carol.1"})
	tests := []struct {
		name   string
		params map[string]string
		want   int
	}{
		{"code used twice", map[string]string{"js_code": "carol.1"}, 40163},
		{"invalid code", map[string]string{"js_code": "invalid.1"}, 40029},
		{"rate limited", map[string]string{"js_code": "ratelimit"}, 45011},
		{"system busy", map[string]string{"js_code": "busy"}, -1},
		{"missing code", map[string]string{"js_code": ""}, 41008},
		{"wrong appid", map[string]string{"js_code": "dave.1", "appid": "wxother"}, 40013},
		{"wrong secret", map[string]string{"js_code": "dave.2", "secret": "nope"}, 40125},
		{"wrong grant type", map[string]string{"js_code": "dave.3", "grant_type": "client_credential"}, 40002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := exchange(t, sim, tc.params)
			if a.ErrCode != tc.want || a.ErrMsg == "" || a.OpenID != "" || a.SessionKey != "" {
				t.Fatalf("answer = %+v, want errcode %d and no session", a, tc.want)
			}
		})
	}
	// A refused request does not use up its code.
	if a := exchange(t, sim, map[string]string{"js_code": "dave.1"}); a.ErrCode != 0 {
		t.Fatalf("dave.1 after a wrong-appid attempt: errcode %d", a.ErrCode)
	}
}

func TestLoginOnlyServesItsEndpoint(t *testing.T) {
	sim := sandbox.NewLogin(appID, secret, nil)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/sns/jscode2session?js_code=a", http.StatusMethodNotAllowed},
		{http.MethodGet, "/cgi-bin/token", http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}
