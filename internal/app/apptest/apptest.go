// Package apptest builds a whole siyu for a test: the real wiring of
// internal/app on a fresh store (a temporary SQLite file, or a fresh
// PostgreSQL database when the test asks for one), sandbox WeChat, a fake
// clock, and logs into the test's output.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/config"
	"github.com/siyu-commerce/siyu/internal/store/postgres/pgtest"
)

// Engine picks the store of a test app.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres" // skips unless SIYU_TEST_DATABASE_URL is set (fails under CI)
)

// Start is the fake clock's starting time in every test app.
var Start = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// App is a test app and its fake clock.
type App struct {
	*app.App
	Clock *clock.Fake
}

// Options are what a test may change about the wiring beyond the
// configuration.
type Options struct {
	Replica     string // app.Options.Replica
	FlashPrefix string // app.Options.FlashPrefix
}

// New builds and migrates an app on the given engine. mod, if not nil, may
// change the configuration first.
func New(t testing.TB, engine Engine, mod func(*config.Config)) *App {
	t.Helper()
	return NewWith(t, engine, mod, Options{})
}

// NewWith is New with wiring options.
func NewWith(t testing.TB, engine Engine, mod func(*config.Config), o Options) *App {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.DataKey = "0101010101010101010101010101010101010101010101010101010101010101"
	switch engine {
	case SQLite:
		cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "siyu.db")
	case Postgres:
		cfg.DatabaseURL = pgtest.NewDatabase(t)
	default:
		t.Fatalf("apptest: unknown engine %q", engine)
	}
	if mod != nil {
		mod(&cfg)
	}
	clk := clock.NewFake(Start)
	// The pay simulator's callback retries (WeChat's 24-hour schedule) are
	// compressed 100,000 times and refunds complete at once, so a test waits
	// for them with PaySandbox.Flush, never with sleeps.
	a, err := app.New(context.Background(), cfg, app.Options{Clock: clk, Log: testLogger(t), PayCompress: 100000, RefundDelay: time.Millisecond,
		Replica: o.Replica, FlashPrefix: o.FlashPrefix})
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Migrate(context.Background()); err != nil {
		t.Fatalf("apptest: migrate: %v", err)
	}
	return &App{App: a, Clock: clk}
}

// Engines returns the engines a test should run on: SQLite always, and
// PostgreSQL too when it is available (or under CI, where it must be).
func Engines() []Engine { return []Engine{SQLite, Postgres} }

// Drain delivers every pending outbox event and runs every due job, as the
// background workers would, until there is nothing left to do.
func (a *App) Drain(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		ne, err := a.Events.DeliverOnce(ctx)
		if err != nil {
			t.Fatalf("apptest: deliver events: %v", err)
		}
		nj, err := a.Jobs.RunOnce(ctx)
		if err != nil {
			t.Fatalf("apptest: run jobs: %v", err)
		}
		if ne == 0 && nj == 0 {
			return
		}
	}
	t.Fatal("apptest: events and jobs did not settle after 100 rounds")
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// testLogger logs warnings and errors into the test's output, where they
// show only when the test fails or runs with -v.
func testLogger(t testing.TB) *slog.Logger {
	var w io.Writer = testWriter{t}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
