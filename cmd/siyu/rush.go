package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/app"
	"github.com/siyu-commerce/siyu/internal/platform/config"
	"github.com/siyu-commerce/siyu/internal/rush"
)

// rushFlags are `siyu rush`'s own settings.
type rushFlags struct {
	buyers, units, limit int
	retries, duplicates  float64
	duration             time.Duration
	workers, inFlight    int
	fraction, rate       float64
	maxRequests          int
	timeout, settle      time.Duration
	maxTime              time.Duration
	redisURL             string
	benchBin             string
	benchRequests        int
	benchClients         int
	json, keep           bool
	seed                 uint64
	cpuProfile           string
}

// runRush is the flash sale's load test: it starts the whole shop in this
// process on a throwaway database, listening on loopback only, seeds a
// product, its stock, two flash sessions and the buyers through the
// services, then loads the buy API (internal/rush says how and why) and
// checks the sale against the database. It fails when anything was
// oversold, a buyer passed the limit, or a winner's order is missing or
// doubled.
func runRush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rush", "rush [flags]", stderr)
	var f rushFlags
	fs.IntVar(&f.buyers, "buyers", 20000, "distinct buyers, each signed in with an address")
	fs.IntVar(&f.units, "units", 1000, "the rush session's quota")
	fs.IntVar(&f.limit, "limit", 1, "units one buyer may hold")
	fs.Float64Var(&f.retries, "retries", 0.05, "share of requests resent with the same request_id")
	fs.Float64Var(&f.duplicates, "duplicates", 0.10, "share of requests that are a buyer's further, distinct request")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "length of each phase")
	fs.IntVar(&f.workers, "workers", 64, "concurrent workers of the closed-loop (max) phases")
	fs.IntVar(&f.inFlight, "in-flight", 512, "bound on requests in flight in the open-loop phases")
	fs.Float64Var(&f.fraction, "fraction", 0.5, "open-loop phases run at this fraction of the measured maximum")
	fs.Float64Var(&f.rate, "rate", 0, "the rush phase's rate in requests/s (0: --fraction of buy-max)")
	fs.IntVar(&f.maxRequests, "max-requests", 2_000_000, "cap on the requests of each phase")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "one request's timeout")
	fs.DurationVar(&f.settle, "settle", 30*time.Second, "how long winners may take to become orders")
	fs.DurationVar(&f.maxTime, "max-time", 15*time.Minute, "the whole run's limit, setup included")
	fs.StringVar(&f.redisURL, "redis-url", os.Getenv("SIYU_REDIS_URL"), "Redis for the hot path, loopback only (SIYU_REDIS_URL); empty: in-process")
	fs.StringVar(&f.benchBin, "redis-benchmark", "redis-benchmark", "redis-benchmark binary, run on the reserve script when Redis is used")
	fs.IntVar(&f.benchRequests, "redis-bench-requests", 200_000, "requests of each redis-benchmark case")
	fs.IntVar(&f.benchClients, "redis-bench-clients", 50, "connections of redis-benchmark")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.BoolVar(&f.keep, "keep", false, "keep the throwaway database (and print where it is)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the request mix")
	fs.StringVar(&f.cpuProfile, "cpu-profile", "", "write a CPU profile of the load phases (server and tool: one process) to this file")
	load := configFlags(fs, false)
	// A rush never loads the database it is given; say what it does.
	db := fs.Lookup("database-url")
	db.DefValue = ""
	db.Usage = "where the throwaway database goes: sqlite:PATH (a new file beside PATH) or postgres://... (a new database on that server, dropped after); default a temporary SQLite file (SIYU_DATABASE_URL)"
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("rush: unexpected arguments %q", fs.Args())
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if cfg.Mode != config.Sandbox {
		return errors.New("rush: runs in sandbox mode only (its buyers sign in through the login simulator)")
	}
	named := os.Getenv("SIYU_DATABASE_URL") != ""
	fs.Visit(func(fl *flag.Flag) { named = named || fl.Name == "database-url" })
	if !named {
		cfg.DatabaseURL = ""
	}
	cfg.RedisURL = f.redisURL
	ctx, cancel := context.WithTimeout(ctx, f.maxTime)
	defer cancel()
	rep, err := rushRun(ctx, cfg, f, stderr)
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return fmt.Errorf("rush: %s", strings.Join(rep.Failures, "; "))
	}
	return nil
}

func (f rushFlags) check() error {
	var bad []string
	if f.buyers < 1 || f.units < 1 || f.limit < 1 {
		bad = append(bad, "--buyers, --units and --limit must be at least 1")
	}
	if f.retries < 0 || f.duplicates < 0 || f.retries+f.duplicates >= 1 {
		bad = append(bad, "--retries and --duplicates are shares: >= 0, together below 1")
	}
	if f.duration <= 0 || f.workers < 1 || f.inFlight < 1 || f.fraction <= 0 || f.fraction > 1 || f.rate < 0 {
		bad = append(bad, "--duration, --workers and --in-flight must be positive, --fraction in (0, 1], --rate >= 0")
	}
	if f.maxRequests < 1 || f.timeout <= 0 || f.settle <= 0 || f.maxTime <= 0 {
		bad = append(bad, "--max-requests, --timeout, --settle and --max-time must be positive")
	}
	if len(bad) > 0 {
		return errors.New("rush: " + strings.Join(bad, "; "))
	}
	return nil
}

// rushRun sets the shop up, runs the load and tears everything down.
func rushRun(ctx context.Context, cfg config.Config, f rushFlags, stderr io.Writer) (*rush.Report, error) {
	runID := newRunID()
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "rush: "+format+"\n", args...) }

	if err := checkLoopbackRedis(cfg.RedisURL); err != nil {
		return nil, err
	}
	db, err := throwawayDatabase(ctx, cfg, runID, f.keep, logf)
	if err != nil {
		return nil, err
	}
	defer db.drop()
	cfg.DatabaseURL = db.url
	if cfg.DataDir == "" && cfg.DataKey == "" {
		cfg.DataDir = db.dir // the sandbox data key, made for this run
	}
	prefix := "siyu-rush:" + runID + ":"
	if cfg.RedisURL != "" {
		defer deleteRedisKeys(context.WithoutCancel(ctx), cfg.RedisURL, prefix, logf)
	}
	cfg.Addr = "127.0.0.1:0"
	if cfg.LogLevel == config.Default().LogLevel {
		cfg.LogLevel = "warn" // a rush logs nothing per request; keep stderr for the run's own lines
	}

	a, err := app.New(ctx, cfg, app.Options{Log: app.NewLogger(stderr, cfg.LogLevel), FlashPrefix: prefix + "fs:", Replica: "rush-" + runID})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if _, err := a.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrating: %w", err)
	}
	base, stop, err := serveLoopback(ctx, a)
	if err != nil {
		return nil, err
	}
	defer stop()

	logf("%s on %s; signing in %d buyers", base, db.describe, f.buyers)
	t0 := time.Now()
	shop, buyers, err := seedRush(ctx, a, runID, f)
	if err != nil {
		return nil, err
	}
	logf("shop seeded in %s", time.Since(t0).Round(time.Millisecond))

	rc := rush.Config{
		BaseURL: base, Buyers: buyers, Units: f.units, Limit: f.limit, Retry: f.retries, Second: f.duplicates,
		Duration: f.duration, Workers: f.workers, InFlight: f.inFlight, Fraction: f.fraction, Rate: f.rate,
		MaxRequests: f.maxRequests, Timeout: f.timeout, Settle: f.settle, RunID: runID, Seed: f.seed,
		Database: db.engine, Counters: "in-process", Log: stderr,
	}
	if cfg.RedisURL != "" {
		rc.Counters = "redis"
		if bin, err := exec.LookPath(f.benchBin); err == nil {
			rb := rush.RedisBenchConfig{Binary: bin, URL: cfg.RedisURL, Requests: f.benchRequests, Clients: f.benchClients, Prefix: prefix + "bench:"}
			rc.RedisBench = rb.Run
		} else {
			logf("%s not found: no Redis ceiling", f.benchBin)
		}
	}
	if f.cpuProfile != "" {
		out, err := os.Create(f.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	return rush.Run(ctx, rc, shop)
}

func newRunID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
