package sandbox_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

func TestTransportServesInProcess(t *testing.T) {
	var seen *http.Request
	var seenBody string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		b, _ := io.ReadAll(r.Body)
		seenBody = string(b)
		w.Header().Set("Wechatpay-Serial", "TEST")
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-Too-Late", "1") // after WriteHeader: must not show
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	c := &http.Client{Transport: sandbox.Transport(h)}
	body := &closeTracker{Reader: strings.NewReader(`{"amount":100}`)}
	req, _ := http.NewRequest(http.MethodPost, "https://api.mch.weixin.qq.com/v3/pay?x=1", body)
	req.Header.Set("Authorization", "WECHATPAY2-SHA256-RSA2048 test")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)

	if resp.StatusCode != http.StatusCreated || string(got) != `{"ok":true}` ||
		resp.Header.Get("Wechatpay-Serial") != "TEST" || resp.Header.Get("X-Too-Late") != "" {
		t.Fatalf("response %d %v %q", resp.StatusCode, resp.Header, got)
	}
	if resp.ContentLength != int64(len(got)) {
		t.Fatalf("ContentLength %d, body %d bytes", resp.ContentLength, len(got))
	}
	if seen.Method != http.MethodPost || seen.RequestURI != "/v3/pay?x=1" || seen.Host != "api.mch.weixin.qq.com" ||
		seen.Header.Get("Authorization") == "" || seenBody != `{"amount":100}` || seen.RemoteAddr == "" {
		t.Fatalf("handler saw %s %s host %q body %q", seen.Method, seen.RequestURI, seen.Host, seenBody)
	}
	if !body.closed {
		t.Fatal("the request body was not closed")
	}
}

type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func TestTransportDefaultsTo200(t *testing.T) {
	c := &http.Client{Transport: sandbox.Transport(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))}
	resp, err := c.Get("https://example.invalid/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
}

func TestTransportHonoursTheClientDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hang := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release })
	c := &http.Client{Transport: sandbox.Transport(hang)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://example.invalid/", nil)
	if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
}

func TestTransportTurnsAPanicIntoAnError(t *testing.T) {
	c := &http.Client{Transport: sandbox.Transport(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))}
	if _, err := c.Get("https://example.invalid/"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the panic reported", err)
	}
}
