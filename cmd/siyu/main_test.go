package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "demo", "migrate"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{cmd, "--help"}, &out, &out)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-database-url") {
			t.Errorf("%s --help: %v\n%s", cmd, err, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"nonsense"}, &out, &out); err == nil || !strings.Contains(out.String(), "commands:") {
		t.Errorf("unknown command: %v\n%s", err, out.String())
	}
}

func TestMigrateAndAdminCreate(t *testing.T) {
	dir := t.TempDir()
	db := "--database-url=sqlite:" + filepath.Join(dir, "siyu.db")
	var out, errOut bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"migrate", db}, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut.String())
	}
	if err := run(ctx, []string{"migrate", db}, &out, &errOut); err != nil || !strings.Contains(out.String(), "0 migrations applied") {
		t.Fatalf("second migrate: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"admin", "create", db, "--email", "Ops@Example.com", "--role", "operator"}, &out, &errOut); err != nil {
		t.Fatalf("admin create: %v\n%s", err, errOut.String())
	}
	if !regexp.MustCompile(`created operator ops@example.com .*\npassword: \S{10,}`).MatchString(out.String()) {
		t.Fatalf("admin create printed:\n%s", out.String())
	}
	err := run(ctx, []string{"admin", "create", db, "--email", "ops@example.com", "--role", "operator"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "email") {
		t.Fatalf("a second account with the same email: %v", err)
	}
	if err := run(ctx, []string{"admin", "create", db, "--email", "x@example.com", "--role", "king"}, &out, &errOut); err == nil {
		t.Fatal("an unknown role was accepted")
	}
}

// TestDemoServesAndStops runs `siyu demo` on a free port, checks the URLs it
// prints answer, and stops it the way Ctrl-C does.
func TestDemoServesAndStops(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--data-dir", dir,
			"--database-url", "sqlite:" + filepath.Join(dir, "siyu.db")}, &out, &errOut)
	}()
	var base string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := regexp.MustCompile(`buyer API\s+(http://\S+)/api/v1/products`).FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s", err, errOut.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("demo printed no URL:\n%s\n%s", out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "seeded now") || !strings.Contains(out.String(), "owner@demo.siyu.local") {
		t.Fatalf("demo output lacks the seed report or the owner:\n%s", out.String())
	}
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/api/v1/products", "/console/", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo did not stop cleanly: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not stop within 20s of its context ending")
	}
}
