package rush

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeShop mimics the flash-sale API of siyu (the buy and noop endpoints)
// and its database, so the engine is tested without the app. Faults make it
// misbehave the ways the checks must catch.
type fakeShop struct {
	srv      *httptest.Server
	buyers   []Buyer
	tokens   map[string]string // token -> buyer id
	writeLag time.Duration     // a win becomes an order this much later

	down      bool // answers every buy 503 flash_unavailable
	oversell  bool // sells past the quota
	ignoreCap bool // lets a buyer past the limit
	loseEvery int  // drops every n-th order (0: none)
	dupEvery  int  // writes every n-th order twice (0: none)

	mu       sync.Mutex
	sessions map[string]*fakeSession
}

type fakeSession struct {
	quota, limit, left int
	held               map[string]int    // buyer id -> units
	tickets            map[string]string // buyer id + request id -> reservation id
	orders             map[string]int    // reservation id -> orders
	buyerOf            map[string]string // reservation id -> buyer id
	wins               int
}

func newFakeShop(t *testing.T, buyers int) *fakeShop {
	t.Helper()
	f := &fakeShop{tokens: map[string]string{}, sessions: map[string]*fakeSession{}, writeLag: 20 * time.Millisecond}
	for i := range buyers {
		b := Buyer{ID: fmt.Sprintf("buyer-%d", i), Token: fmt.Sprintf("tok-%d", i), AddressID: fmt.Sprintf("addr-%d", i)}
		f.buyers = append(f.buyers, b)
		f.tokens[b.Token] = b.ID
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/flash/noop", func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := f.decode(w, r); ok {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
		}
	})
	mux.HandleFunc("POST /api/v1/flash/sessions/{id}/buy", f.buy)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeShop) decode(w http.ResponseWriter, r *http.Request) (string, BuyRequest, bool) {
	var in BuyRequest
	buyer, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	switch {
	case !ok:
		problem(w, 401, "unauthenticated")
	case dec.Decode(&in) != nil || in.Qty != 1 || len(in.RequestID) < 8 || len(in.RequestID) > 64:
		problem(w, 400, "invalid_request")
	default:
		return buyer, in, true
	}
	return "", in, false
}

func problem(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":%d,"code":%q}`, status, code)
}

func (f *fakeShop) buy(w http.ResponseWriter, r *http.Request) {
	buyer, in, ok := f.decode(w, r)
	if !ok {
		return
	}
	if f.down {
		problem(w, 503, "flash_unavailable")
		return
	}
	f.mu.Lock()
	s := f.sessions[r.PathValue("id")]
	if s == nil {
		f.mu.Unlock()
		problem(w, 404, "flash_session_not_found")
		return
	}
	out := map[string]any{"outcome": "won", "left": s.left, "held": s.held[buyer], "repeat": false}
	key := buyer + "/" + in.RequestID
	switch res, seen := s.tickets[key]; {
	case seen:
		out["reservation_id"], out["repeat"] = res, true
	case s.left < 1 && !f.oversell:
		out["outcome"] = "sold_out"
	case s.held[buyer] >= s.limit && !f.ignoreCap:
		out["outcome"] = "limit_reached"
	default:
		s.left--
		s.held[buyer]++
		s.wins++
		res := fmt.Sprintf("res-%s-%d", r.PathValue("id"), s.wins)
		s.tickets[key], s.buyerOf[res] = res, buyer
		out["reservation_id"], out["left"], out["held"] = res, max(s.left, 0), s.held[buyer]
		n := s.wins
		time.AfterFunc(f.writeLag, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			switch {
			case f.loseEvery > 0 && n%f.loseEvery == 0:
			case f.dupEvery > 0 && n%f.dupEvery == 0:
				s.orders[res] += 2
			default:
				s.orders[res]++
			}
		})
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (f *fakeShop) OpenSale(_ context.Context, name string, quota, limit int) (Sale, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("s%d", len(f.sessions)+1)
	f.sessions[id] = &fakeSession{quota: quota, limit: limit, left: quota, held: map[string]int{},
		tickets: map[string]string{}, orders: map[string]int{}, buyerOf: map[string]string{}}
	return Sale{Name: name, SessionID: id, SKUID: "sku-" + id, Quota: quota, Limit: limit}, nil
}

func (f *fakeShop) Ordered(_ context.Context, s Sale) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.sessions[s.SessionID].orders {
		n += c
	}
	return n, nil
}

func (f *fakeShop) Truth(_ context.Context, s Sale) (Truth, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fs := f.sessions[s.SessionID]
	t := Truth{UnitsWon: fs.wins, BuyerUnits: map[string]int{}, OrdersByReservation: map[string]int{}}
	for res, c := range fs.orders {
		t.Orders += c
		t.OrderedUnits += c
		t.OrdersByReservation[res] = c
		if c > 0 {
			t.BuyerUnits[fs.buyerOf[res]]++
		}
	}
	return t, nil
}
