package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/idempotency"
	"github.com/siyu-commerce/siyu/internal/identity"
)

// memKeys is an in-memory idempotency.Store, enough to test the middleware
// apart from any database.
type memKeys struct {
	mu   sync.Mutex
	recs map[string]idempotency.Record
}

func (m *memKeys) ClaimKey(_ context.Context, r idempotency.Record) (*idempotency.Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string]idempotency.Record{}
	}
	if prev, ok := m.recs[r.Scope+"\x00"+r.Key]; ok {
		return &prev, false, nil
	}
	m.recs[r.Scope+"\x00"+r.Key] = r
	return nil, true, nil
}

func (m *memKeys) FinishKey(_ context.Context, scope, key string, status int, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.recs[scope+"\x00"+key]
	r.Status, r.Body = status, bytes.Clone(body)
	m.recs[scope+"\x00"+key] = r
	return nil
}

func (m *memKeys) ReleaseKey(_ context.Context, scope, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, scope+"\x00"+key)
	return nil
}

func (m *memKeys) PurgeKeys(context.Context, time.Time) (int, error) { return 0, nil }

// testAPI builds the handler with no services and a token scheme of its
// own: "buyer:<id>" and "op:<role>".
func testAPI(t *testing.T, d Deps) *api {
	t.Helper()
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	a := newAPI(d)
	a.authenticate = func(_ context.Context, tok string) (identity.Principal, error) {
		if id, ok := strings.CutPrefix(tok, "buyer:"); ok {
			return identity.Principal{Kind: identity.KindBuyer, ID: id}, nil
		}
		if role, ok := strings.CutPrefix(tok, "op:"); ok {
			return identity.Principal{Kind: identity.KindOperator, ID: "op", Role: identity.Role(role)}, nil
		}
		return identity.Principal{}, identity.ErrUnauthenticated
	}
	return a
}

func send(h http.Handler, method, path, token, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func problemBody(t *testing.T, w *httptest.ResponseRecorder) problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, body %s", ct, w.Body)
	}
	var p problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIdempotencyKey(t *testing.T) {
	keys := &memKeys{}
	a := testAPI(t, Deps{Idempotency: keys, Limits: Limits{IdempotencyWait: 2 * time.Second}})
	var runs atomic.Int64
	var fail atomic.Int64 // requests still to fail with a 500
	a.handle("POST /t/idem", a.buyer(a.idempotent(func(w http.ResponseWriter, r *http.Request, buyerID string) {
		n := runs.Add(1)
		time.Sleep(30 * time.Millisecond) // long enough that repeats arrive while it runs
		if fail.Add(-1) >= 0 {
			writeError(w, r, errs.Wrap(io.ErrUnexpectedEOF, "boom"))
			return
		}
		var req map[string]any
		if err := decode(r, &req); err != nil {
			writeError(w, r, err)
			return
		}
		if req["bad"] == true {
			writeError(w, r, errs.Field("bad", "bad", "bad"))
			return
		}
		writeJSON(w, r, http.StatusCreated, map[string]any{"run": n, "buyer": buyerID})
	})))
	h := a.root

	t.Run("concurrent repeats run once", func(t *testing.T) {
		runs.Store(0)
		var wg sync.WaitGroup
		res := make([]*httptest.ResponseRecorder, 20)
		for i := range res {
			wg.Go(func() { res[i] = send(h, "POST", "/t/idem", "buyer:b1", `{"x":1}`, "Idempotency-Key", "k-concurrent") })
		}
		wg.Wait()
		if runs.Load() != 1 {
			t.Fatalf("handler ran %d times", runs.Load())
		}
		replayed := 0
		for _, w := range res {
			if w.Code != 201 || w.Body.String() != res[0].Body.String() {
				t.Fatalf("got %d %s, want 201 %s", w.Code, w.Body, res[0].Body)
			}
			if w.Header().Get("Idempotent-Replayed") == "true" {
				replayed++
			}
		}
		if replayed != 19 {
			t.Fatalf("%d replayed, want 19", replayed)
		}
	})
	t.Run("other body is refused", func(t *testing.T) {
		w := send(h, "POST", "/t/idem", "buyer:b1", `{"x":2}`, "Idempotency-Key", "k-concurrent")
		if p := problemBody(t, w); w.Code != 422 || p.Code != "idempotency_key_reused" {
			t.Fatalf("got %d %+v", w.Code, p)
		}
	})
	t.Run("keys are per buyer", func(t *testing.T) {
		runs.Store(0)
		w := send(h, "POST", "/t/idem", "buyer:b2", `{"x":1}`, "Idempotency-Key", "k-concurrent")
		if w.Code != 201 || runs.Load() != 1 || w.Header().Get("Idempotent-Replayed") != "" {
			t.Fatalf("got %d %s after %d runs", w.Code, w.Body, runs.Load())
		}
	})
	t.Run("client errors are replayed", func(t *testing.T) {
		runs.Store(0)
		first := send(h, "POST", "/t/idem", "buyer:b1", `{"bad":true}`, "Idempotency-Key", "k-4xx")
		again := send(h, "POST", "/t/idem", "buyer:b1", `{"bad":true}`, "Idempotency-Key", "k-4xx")
		if first.Code != 400 || again.Code != 400 || again.Body.String() != first.Body.String() || runs.Load() != 1 {
			t.Fatalf("got %d then %d (%s), %d runs", first.Code, again.Code, again.Body, runs.Load())
		}
		if again.Header().Get("Content-Type") != "application/problem+json" || again.Header().Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay headers %v", again.Header())
		}
	})
	t.Run("server errors free the key", func(t *testing.T) {
		runs.Store(0)
		fail.Store(1)
		first := send(h, "POST", "/t/idem", "buyer:b1", `{}`, "Idempotency-Key", "k-5xx")
		again := send(h, "POST", "/t/idem", "buyer:b1", `{}`, "Idempotency-Key", "k-5xx")
		if first.Code != 500 || again.Code != 201 || runs.Load() != 2 {
			t.Fatalf("got %d then %d, %d runs", first.Code, again.Code, runs.Load())
		}
	})
	t.Run("bad key", func(t *testing.T) {
		w := send(h, "POST", "/t/idem", "buyer:b1", `{}`, "Idempotency-Key", strings.Repeat("k", 256))
		if p := problemBody(t, w); w.Code != 400 || p.Code != "invalid_idempotency_key" || p.Field != "Idempotency-Key" {
			t.Fatalf("got %d %+v", w.Code, p)
		}
	})
	t.Run("no key runs every time", func(t *testing.T) {
		runs.Store(0)
		send(h, "POST", "/t/idem", "buyer:b1", `{}`)
		send(h, "POST", "/t/idem", "buyer:b1", `{}`)
		if runs.Load() != 2 {
			t.Fatalf("%d runs", runs.Load())
		}
	})
}

func TestIdempotencyKeyStuckInFlight(t *testing.T) {
	keys := &memKeys{}
	a := testAPI(t, Deps{Idempotency: keys, Limits: Limits{IdempotencyWait: 100 * time.Millisecond}})
	a.handle("POST /t/idem", a.buyer(a.idempotent(func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, r, 201, map[string]int{})
	})))
	// A claim whose request died without finishing or releasing it.
	_, _, _ = keys.ClaimKey(context.Background(), idempotency.Record{Scope: "buyer:b1", Key: "k",
		RequestHash: requestHash(httptest.NewRequest("POST", "/t/idem", nil), []byte(`{}`))})
	w := send(a.root, "POST", "/t/idem", "buyer:b1", `{}`, "Idempotency-Key", "k")
	if p := problemBody(t, w); w.Code != 409 || p.Code != "idempotency_key_in_flight" {
		t.Fatalf("got %d %+v", w.Code, p)
	}
}

func TestMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	a := testAPI(t, Deps{Metrics: reg, Limits: Limits{MaxBody: 64},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	a.handle("GET /t/panic/{id}", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }))
	a.handle("POST /t/echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := decode(r, &v); err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, 200, v)
	}))
	a.handle("GET /t/admin", a.admin(orderReadRoles, func(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
		writeJSON(w, r, 200, map[string]string{})
	}))
	a.handle("GET /t/buyer", a.buyer(func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, r, 200, map[string]string{})
	}))
	h := a.root

	t.Run("request id is echoed or made", func(t *testing.T) {
		w := send(h, "GET", "/healthz", "", "", "X-Request-Id", "abc-123")
		if w.Header().Get("X-Request-Id") != "abc-123" {
			t.Fatalf("echo %q", w.Header().Get("X-Request-Id"))
		}
		w = send(h, "GET", "/healthz", "", "", "X-Request-Id", "evil\tid")
		if id := w.Header().Get("X-Request-Id"); id == "" || strings.Contains(id, "evil") {
			t.Fatalf("made %q", id)
		}
	})
	t.Run("panic is a 500 problem", func(t *testing.T) {
		w := send(h, "GET", "/t/panic/7", "", "")
		p := problemBody(t, w)
		if w.Code != 500 || p.Code != "internal" || strings.Contains(w.Body.String(), "kaboom") || p.RequestID == "" {
			t.Fatalf("got %d %s", w.Code, w.Body)
		}
		if got := counter(t, reg, "siyu_http_requests_total", "route", "GET /t/panic/{id}", "status", "500"); got != 1 {
			t.Fatalf("metric by route pattern = %v", got)
		}
	})
	t.Run("body over the cap", func(t *testing.T) {
		big := `{"a":"` + strings.Repeat("x", 100) + `"}`
		w := send(h, "POST", "/t/echo", "", big)
		if p := problemBody(t, w); w.Code != 413 || p.Code != "body_too_large" {
			t.Fatalf("got %d %+v", w.Code, p)
		}
		// Without a declared length the cap still holds.
		r := httptest.NewRequest("POST", "/t/echo", io.MultiReader(strings.NewReader(big)))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/json")
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if p := problemBody(t, w); w.Code != 413 || p.Code != "body_too_large" {
			t.Fatalf("chunked: got %d %+v", w.Code, p)
		}
	})
	t.Run("unknown route and method", func(t *testing.T) {
		w := send(h, "GET", "/nope", "", "")
		if p := problemBody(t, w); w.Code != 404 || p.Code != "route_not_found" {
			t.Fatalf("got %d %+v", w.Code, p)
		}
		w = send(h, "DELETE", "/healthz", "", "")
		if p := problemBody(t, w); w.Code != 405 || p.Code != "method_not_allowed" || w.Header().Get("Allow") == "" {
			t.Fatalf("got %d %+v %v", w.Code, p, w.Header())
		}
	})
	t.Run("roles and realms", func(t *testing.T) {
		cases := []struct {
			path, token string
			status      int
			code        string
		}{
			{"/t/admin", "", 401, "unauthenticated"},
			{"/t/admin", "garbage", 401, "unauthenticated"},
			{"/t/admin", "buyer:b1", 401, "unauthenticated"},
			{"/t/admin", "op:reviewer", 403, "forbidden"},
			{"/t/admin", "op:finance", 200, ""},
			{"/t/admin", "op:operator", 200, ""},
			{"/t/admin", "op:owner", 200, ""},
			{"/t/buyer", "op:owner", 401, "unauthenticated"},
			{"/t/buyer", "buyer:b1", 200, ""},
		}
		for _, c := range cases {
			w := send(h, "GET", c.path, c.token, "")
			if w.Code != c.status {
				t.Errorf("%s with %q: got %d %s", c.path, c.token, w.Code, w.Body)
				continue
			}
			if c.code != "" {
				if p := problemBody(t, w); p.Code != c.code {
					t.Errorf("%s with %q: code %s", c.path, c.token, p.Code)
				}
				if c.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s with %q: no WWW-Authenticate", c.path, c.token)
				}
			}
		}
	})
	t.Run("the access log holds no secrets", func(t *testing.T) {
		logs.Reset()
		send(h, "GET", "/t/buyer?q=secret-query", "buyer:secret-token", "")
		line := logs.String()
		for _, leak := range []string{"secret-token", "secret-query"} {
			if strings.Contains(line, leak) {
				t.Fatalf("log holds %q: %s", leak, line)
			}
		}
		if !strings.Contains(line, `"route":"GET /t/buyer"`) || !strings.Contains(line, `"request_id"`) {
			t.Fatalf("log line lacks route or request id: %s", line)
		}
	})
}

// counter reads the value of a counter series from reg, the series being
// the one whose labels include the given name/value pairs.
func counter(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
