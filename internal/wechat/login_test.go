package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/wechat"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

var _ identity.WeChat = (*wechat.LoginClient)(nil)

const (
	appID  = "wx0123456789abcdef"
	secret = "s3cr3t-0123456789abcdef0123456789"
)

func sandboxClient(sim http.Handler) *wechat.LoginClient {
	return &wechat.LoginClient{BaseURL: "https://api.weixin.qq.com", AppID: appID, AppSecret: secret,
		HTTP: &http.Client{Transport: sandbox.Transport(sim)}}
}

func TestCode2SessionAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	sim := sandbox.NewLogin(appID, secret, nil)
	c := sandboxClient(sim)

	s, err := c.Code2Session(ctx, "alice.1")
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenID != sim.OpenID("alice") || s.UnionID != sim.UnionID("alice") || s.SessionKey == "" {
		t.Fatalf("session = %#v, want alice's openid %s", s, sim.OpenID("alice"))
	}

	tests := []struct {
		name  string
		code  string
		kind  errs.Kind
		ecode string
	}{
		{"used code", "alice.1", errs.Unauthorized, "invalid_login_code"},
		{"invalid code", "invalid-x", errs.Unauthorized, "invalid_login_code"},
		{"empty code", "", errs.Unauthorized, "invalid_login_code"},
		{"rate limited", "ratelimit.1", errs.TooMany, "login_rate_limited"},
		{"system busy", "busy.1", errs.Unavailable, "wechat_unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Code2Session(ctx, tc.code)
			e, ok := errs.As(err)
			if !ok || e.Kind != tc.kind || e.Code != tc.ecode {
				t.Fatalf("err = %v (%+v), want %v %q", err, e, tc.kind, tc.ecode)
			}
		})
	}
	t.Run("wrong secret is our outage, not the buyer's fault", func(t *testing.T) {
		bad := sandboxClient(sim)
		bad.AppSecret = "wrong"
		_, err := bad.Code2Session(ctx, "bob.1")
		var api *wechat.APIError
		if !errs.Is(err, "wechat_unavailable") || !errors.As(err, &api) || api.Code != 40125 {
			t.Fatalf("err = %v, want wechat_unavailable caused by errcode 40125", err)
		}
	})
}

// The request URL carries the app secret; a transport error quotes its URL,
// and errors end up in logs.
func TestCode2SessionErrorsKeepTheSecretOut(t *testing.T) {
	ctx := context.Background()
	failing := &wechat.LoginClient{BaseURL: "http://127.0.0.1:1", AppID: appID, AppSecret: secret,
		HTTP: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, errors.New("connection refused")
		})}}
	_, err := failing.Code2Session(ctx, "code-123")
	if !errs.Is(err, "wechat_unavailable") {
		t.Fatalf("err = %v, want wechat_unavailable", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "code-123") {
		t.Fatalf("error leaks the request URL: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCode2SessionBadReplies(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"gateway error", http.StatusBadGateway, `<html>bad gateway</html>`, "wechat_unavailable"},
		{"not json", http.StatusOK, `<html>maintenance</html>`, "wechat_unavailable"},
		{"no session key", http.StatusOK, `{"openid":"oAbc"}`, "wechat_unavailable"},
		{"risky account", http.StatusOK, `{"errcode":40226,"errmsg":"high risk user"}`, "login_blocked"},
		{"unknown errcode", http.StatusOK, `{"errcode":48001,"errmsg":"api unauthorized"}`, "wechat_unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := &wechat.LoginClient{BaseURL: srv.URL, AppID: appID, AppSecret: secret}
			if _, err := c.Code2Session(context.Background(), "x"); !errs.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %s", err, tc.wantErr)
			}
		})
	}
}

func TestCode2SessionSendsTheProtocol(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_, _ = w.Write([]byte(`{"openid":"oX","session_key":"k","unionid":"uX"}`))
	}))
	defer srv.Close()
	c := &wechat.LoginClient{BaseURL: srv.URL + "/", AppID: appID, AppSecret: secret}
	s, err := c.Code2Session(context.Background(), "a b&c")
	if err != nil {
		t.Fatal(err)
	}
	q := got.URL.Query()
	if got.Method != http.MethodGet || got.URL.Path != "/sns/jscode2session" || q.Get("appid") != appID ||
		q.Get("secret") != secret || q.Get("js_code") != "a b&c" || q.Get("grant_type") != "authorization_code" {
		t.Fatalf("request = %s %s", got.Method, got.URL)
	}
	if s.OpenID != "oX" || s.UnionID != "uX" || s.SessionKey != "k" {
		t.Fatalf("session = %#v", s)
	}
}

func TestCode2SessionTimesOut(t *testing.T) {
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c := sandboxClient(hang)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Code2Session(ctx, "x"); !errs.Is(err, "wechat_unavailable") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want wechat_unavailable caused by the deadline", err)
	}
}
