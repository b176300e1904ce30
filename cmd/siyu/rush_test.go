package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siyu-commerce/siyu/internal/platform/testenv"
	"github.com/siyu-commerce/siyu/internal/rush"
)

// rushE2E runs `siyu rush` small and short and returns its JSON report.
func rushE2E(t *testing.T, extra ...string) *rush.Report {
	t.Helper()
	if testing.Short() {
		t.Skip("a rush takes seconds")
	}
	dir := t.TempDir()
	args := append([]string{"rush", "--database-url=sqlite:" + filepath.Join(dir, "named.db"),
		"--buyers=2000", "--units=200", "--limit=1", "--duration=1s", "--workers=16", "--in-flight=128",
		"--settle=10s", "--max-time=2m", "--json",
		// A fixed rush rate: half of a slow machine's buy-max might not
		// sell 200 units out within the 1 s phase.
		"--rate=1000"}, extra...)
	var out, errOut syncBuffer
	err := run(context.Background(), args, &out, &errOut)
	var rep rush.Report
	if jerr := json.Unmarshal([]byte(out.String()), &rep); jerr != nil {
		t.Fatalf("rush: %v; report: %v\nstdout:\n%s\nstderr:\n%s", err, jerr, out.String(), errOut.String())
	}
	if err != nil {
		t.Fatalf("rush: %v\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	// The database it was pointed at is untouched, its own is gone.
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Errorf("files left beside the named database: %q", left)
	}
	return &rep
}

func checkRushReport(t *testing.T, rep *rush.Report) {
	t.Helper()
	var names []string
	for _, p := range rep.Phases {
		names = append(names, p.Name)
		if p.Requests == 0 || len(p.Errors) != 0 {
			t.Errorf("%s: %d requests, errors %v", p.Name, p.Requests, p.Errors)
		}
	}
	if got := strings.Join(names, " "); got != "noop-max noop-open buy-max rush soldout-max" {
		t.Fatalf("phases %q", got)
	}
	if len(rep.Sales) != 2 || rep.Failed() {
		t.Fatalf("sales %+v, failures %q", rep.Sales, rep.Failures)
	}
	for _, s := range rep.Sales {
		if s.Oversold != 0 || s.LimitViolations != 0 || s.Lost != 0 || s.Duplicated != 0 {
			t.Errorf("%s: %+v", s.Name, s)
		}
		if s.Winners == 0 || s.Orders != s.Winners || s.DBUnitsWon != s.UnitsWon {
			t.Errorf("%s: %d winners, %d orders, %d units won by the answers and %d by the database",
				s.Name, s.Winners, s.Orders, s.UnitsWon, s.DBUnitsWon)
		}
	}
	sale := rep.Sales[1]
	if sale.Name != "rush" || sale.UnitsWon != 200 || sale.OrderedUnits != 200 || sale.SoldOutAfterMS < 0 || sale.DurableAfterMS < 0 {
		t.Fatalf("the rush sale: %+v", sale)
	}
	if rep.Ratios.NoopMax <= 0 || rep.Ratios.Decisions <= 0 || rep.Ratios.SoldOut <= 0 {
		t.Fatalf("ratios %+v", rep.Ratios)
	}
}

// A whole `siyu rush` on the embedded mode: the shop starts on loopback,
// 2,000 buyers sign in, every phase runs, 200 units sell exactly, each
// winner has exactly one order, and the throwaway database is removed.
func TestRushEmbedded(t *testing.T) {
	rep := rushE2E(t, "--redis-url=")
	checkRushReport(t, rep)
	if rep.Setup.Database != "sqlite" || rep.Setup.Counters != "in-process" || len(rep.RedisBench) != 0 {
		t.Fatalf("setup %+v, redis-benchmark %+v", rep.Setup, rep.RedisBench)
	}
}

// The same with the hot path on Redis, and the script's ceiling measured by
// redis-benchmark; nothing of the run is left in Redis.
func TestRushRedis(t *testing.T) {
	url := testenv.Need(t, testenv.RedisVar)
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		t.Skip("redis-benchmark is not installed")
	}
	rep := rushE2E(t, "--redis-url="+url, "--redis-bench-requests=5000", "--redis-bench-clients=8")
	checkRushReport(t, rep)
	if rep.Setup.Counters != "redis" || len(rep.RedisBench) != 2 || rep.RedisBench[0].RPS <= 0 {
		t.Fatalf("setup %+v, redis-benchmark %+v, notes %q", rep.Setup, rep.RedisBench, rep.Notes)
	}
}

func TestRushRefusesWhatIsNotLoopback(t *testing.T) {
	for name, args := range map[string][]string{
		"postgres": {"--database-url=postgres://postgres@10.9.8.7:5432/shop"},
		"redis":    {"--redis-url=redis://10.9.8.7:6379/0"},
	} {
		var out syncBuffer
		err := run(context.Background(), append([]string{"rush", "--buyers=1"}, args...), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v", name, err)
		}
	}
	var out syncBuffer
	if err := run(context.Background(), []string{"rush", "--fraction=2"}, &out, &out); err == nil {
		t.Error("a fraction of 2 was accepted")
	}
	if err := run(context.Background(), []string{"rush", "--help"}, &out, &out); err == nil || !strings.Contains(out.String(), "-in-flight") {
		t.Errorf("rush --help: %v\n%s", err, out.String())
	}
}
