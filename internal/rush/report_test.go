package rush

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCheckFindsEveryBreach(t *testing.T) {
	sale := Sale{Name: "rush", Quota: 3, Limit: 1}
	id := func(i int) string { return []string{"a", "b", "c", "d"}[i] }
	clean := Summary{Winners: 3, Units: 3, Reservations: map[string]int{"r1": 0, "r2": 1, "r3": 2}, BuyerUnits: map[int]int{0: 1, 1: 1, 2: 1}}
	cleanTruth := func() Truth {
		return Truth{UnitsWon: 3, Orders: 3, OrderedUnits: 3, BuyerUnits: map[string]int{"a": 1, "b": 1, "c": 1},
			OrdersByReservation: map[string]int{"r1": 1, "r2": 1, "r3": 1}}
	}
	for _, tc := range []struct {
		name  string
		ans   func(*Summary)
		truth func(*Truth)
		want  SaleCheck // only the verdicts are compared
	}{
		{name: "clean"},
		{name: "oversold in the database only", truth: func(tr *Truth) {
			tr.UnitsWon, tr.Orders, tr.OrderedUnits = 4, 4, 4
			tr.BuyerUnits["d"] = 1
			tr.OrdersByReservation["r4"] = 1
		}, want: SaleCheck{Oversold: 1}},
		{name: "oversold by the answers", ans: func(s *Summary) {
			s.Winners, s.Units = 4, 4
			s.Reservations["r4"] = 3
			s.BuyerUnits[3] = 1
		}, want: SaleCheck{Oversold: 1, Lost: 1}},
		{name: "a buyer above the limit, seen only in the database", truth: func(tr *Truth) {
			tr.BuyerUnits["a"] = 2
		}, want: SaleCheck{LimitViolations: 1}},
		{name: "a buyer above the limit in the answers", ans: func(s *Summary) {
			s.BuyerUnits[0] = 2
		}, want: SaleCheck{LimitViolations: 1}},
		{name: "a winner without an order", truth: func(tr *Truth) {
			tr.Orders, tr.OrderedUnits = 2, 2
			delete(tr.OrdersByReservation, "r3")
		}, want: SaleCheck{Lost: 1}},
		{name: "a win the server recorded but never wrote", truth: func(tr *Truth) {
			tr.UnitsWon = 3
			tr.Orders, tr.OrderedUnits = 2, 2
			delete(tr.OrdersByReservation, "r3")
		}, ans: func(s *Summary) {
			s.Winners, s.Units = 2, 2 // its answer never came
			delete(s.Reservations, "r3")
		}, want: SaleCheck{Lost: 1}},
		{name: "an order written twice", truth: func(tr *Truth) {
			tr.OrdersByReservation["r2"] = 2
			tr.Orders = 4
		}, want: SaleCheck{Duplicated: 1}},
		{name: "a retry that won twice", ans: func(s *Summary) { s.DoubleWins = 1 }, want: SaleCheck{Duplicated: 1}},
		{name: "counts only: one order missing", truth: func(tr *Truth) {
			tr.OrdersByReservation = nil
			tr.Orders, tr.OrderedUnits, tr.UnitsWon = 2, 2, -1
		}, want: SaleCheck{Lost: 1}},
		{name: "counts only: one order too many", truth: func(tr *Truth) {
			tr.OrdersByReservation = nil
			tr.Orders, tr.OrderedUnits, tr.UnitsWon = 4, 4, 3
		}, want: SaleCheck{Duplicated: 1, Oversold: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans := clean
			ans.Reservations = clone(clean.Reservations)
			ans.BuyerUnits = clone(clean.BuyerUnits)
			if tc.ans != nil {
				tc.ans(&ans)
			}
			truth := cleanTruth()
			if tc.truth != nil {
				tc.truth(&truth)
			}
			got := Check(sale, ans, truth, id)
			if got.Oversold != tc.want.Oversold || got.LimitViolations != tc.want.LimitViolations ||
				got.Lost != tc.want.Lost || got.Duplicated != tc.want.Duplicated {
				t.Fatalf("oversold %d, over limit %d, lost %d, duplicated %d; want %d, %d, %d, %d",
					got.Oversold, got.LimitViolations, got.Lost, got.Duplicated,
					tc.want.Oversold, tc.want.LimitViolations, tc.want.Lost, tc.want.Duplicated)
			}
			rep := &Report{Sales: []SaleCheck{got}}
			rep.finish()
			if rep.Failed() != (tc.want.Breaches() > 0) {
				t.Fatalf("failed %v with failures %q", rep.Failed(), rep.Failures)
			}
		})
	}
}

func clone[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func testConfig(f *fakeShop) Config {
	return Config{
		BaseURL: f.srv.URL, Buyers: f.buyers, Units: 50, Limit: 1, Retry: 0.05, Second: 0.10,
		// A fixed rush rate, so that the sale sells out within the short
		// phase however slow a loaded machine made buy-max.
		Duration: 300 * time.Millisecond, Workers: 8, InFlight: 32, Fraction: 0.5, Rate: 2000, MaxRequests: 5000,
		Timeout: 5 * time.Second, Settle: 5 * time.Second, RunID: "T1", Seed: 1, Database: "fake", Counters: "fake",
	}
}

// A whole run against a shop that keeps its promises: every phase runs, the
// sale sells out exactly, and the report passes, in both forms.
func TestRunAgainstAnHonestShop(t *testing.T) {
	f := newFakeShop(t, 300)
	rep, err := Run(context.Background(), testConfig(f), f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range rep.Phases {
		names = append(names, p.Name)
		if p.Requests == 0 || p.ErrorCount() != 0 {
			t.Errorf("%s: %d requests, errors %v", p.Name, p.Requests, p.Errors)
		}
	}
	if got := strings.Join(names, " "); got != "noop-max noop-open buy-max rush soldout-max" {
		t.Fatalf("phases %q", got)
	}
	if rep.Failed() || len(rep.Sales) != 2 {
		t.Fatalf("failures %q, sales %+v", rep.Failures, rep.Sales)
	}
	rush := rep.Sales[1]
	if rush.UnitsWon != 50 || rush.Orders != 50 || rush.SoldOutAfterMS < 0 || rush.DurableAfterMS < 0 {
		t.Fatalf("rush sale %+v", rush)
	}
	if sel := rep.Sales[0]; sel.Winners == 0 || sel.Winners != sel.Orders || sel.SoldOutAfterMS != -1 {
		t.Fatalf("selling sale %+v", sel)
	}
	if rep.Ratios.NoopMax <= 0 || rep.Ratios.Decisions <= 0 || rep.Ratios.SoldOut <= 0 {
		t.Fatalf("ratios %+v", rep.Ratios)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"noop-max", "soldout-max", "PASS", "decisions through HTTP / noop"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Sales []struct {
			Oversold int `json:"oversold"`
		} `json:"sales"`
		Phases []struct {
			Latency struct {
				P99 int64 `json:"p99_us"`
			} `json:"latency"`
		} `json:"phases"`
	}
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Sales) != 2 || back.Phases[3].Latency.P99 <= 0 {
		t.Fatalf("json %s: %v", raw, err)
	}
	t.Logf("\n%s", text.String())
}

// The same run against shops that break their promises: each breach is
// found from the answers and the database, and fails the report.
func TestRunCatchesABrokenShop(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*fakeShop)
		want  string
	}{
		{"oversell", func(f *fakeShop) { f.oversell = true }, "units oversold"},
		{"no limit", func(f *fakeShop) { f.ignoreCap = true }, "buyers above the limit"},
		{"lost orders", func(f *fakeShop) { f.loseEvery = 7 }, "winners without an order"},
		{"duplicated orders", func(f *fakeShop) { f.dupEvery = 7 }, "duplicated orders"},
		{"down", func(f *fakeShop) { f.down = true }, "nobody won anything"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeShop(t, 100)
			tc.fault(f)
			cfg := testConfig(f)
			cfg.Duration, cfg.Settle = 200*time.Millisecond, 300*time.Millisecond
			rep, err := Run(context.Background(), cfg, f)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Failed() || !strings.Contains(strings.Join(rep.Failures, ";"), tc.want) {
				t.Fatalf("failures %q, want one about %q", rep.Failures, tc.want)
			}
			var text bytes.Buffer
			rep.WriteText(&text)
			if f.down && !strings.Contains(text.String(), "503 flash_unavailable") {
				t.Errorf("the errors are not reported:\n%s", text.String())
			}
			if !strings.Contains(text.String(), "FAIL") {
				t.Errorf("the text report does not say FAIL:\n%s", text.String())
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for base, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://127.9.9.9:1": true, "http://[::1]:80": true, "http://localhost:9": true,
		"http://10.0.0.1:8080": false, "http://example.com": false, "https://127.0.0.1:8080": false, "http://0.0.0.0:80": false,
	} {
		if err := CheckLoopback(base); (err == nil) != ok {
			t.Errorf("CheckLoopback(%q) = %v", base, err)
		}
	}
	if _, err := NewClient("http://192.168.1.1:8080", 1, time.Second); err == nil {
		t.Error("a client of a LAN address was made")
	}
	if err := loopbackOnly("tcp", "93.184.216.34:80", nil); err == nil {
		t.Error("the dialer would dial a public address")
	}
	if err := loopbackOnly("tcp", "127.0.0.1:80", nil); err != nil {
		t.Error(err)
	}
}
