package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/app"
	"github.com/siyu-commerce/siyu/internal/platform/config"
)

// rushDB is the throwaway database a rush runs on. A rush signs in tens of
// thousands of buyers and writes their orders; it never does that to the
// database it is pointed at. It makes its own beside it instead: a new
// SQLite file in the same directory (same disk), or a new database on the
// same PostgreSQL server, and removes it afterwards unless told to keep it.
type rushDB struct {
	engine   string // sqlite or postgres
	url      string
	dir      string // a directory of the run's own (the sandbox data key)
	describe string
	drop     func()
}

func throwawayDatabase(ctx context.Context, cfg config.Config, runID string, keep bool, logf func(string, ...any)) (*rushDB, error) {
	dir, err := os.MkdirTemp("", "siyu-rush-"+runID+"-")
	if err != nil {
		return nil, err
	}
	removeDir := func() { os.RemoveAll(dir) }
	if cfg.DatabaseURL == "" {
		// Nothing named: a temporary SQLite file.
		cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "rush.db")
	}
	engine, addr, err := cfg.Engine()
	if err != nil {
		removeDir()
		return nil, err
	}
	db := &rushDB{engine: engine, dir: dir}
	switch engine {
	case "sqlite":
		file := filepath.Join(filepath.Dir(addr), "siyu-rush-"+runID+".db")
		if st, err := os.Stat(filepath.Dir(addr)); err != nil || !st.IsDir() || filepath.Dir(addr) == dir {
			file = filepath.Join(dir, "rush.db")
		}
		db.url, db.describe = "sqlite:"+file, "SQLite "+file
		db.drop = func() {
			if keep {
				logf("kept %s", file)
			} else {
				for _, suffix := range []string{"", "-wal", "-shm"} {
					os.Remove(file + suffix)
				}
			}
			removeDir()
		}
	case "postgres":
		if db.url, err = createPostgres(ctx, addr, "siyu_rush_"+runID); err != nil {
			removeDir()
			return nil, err
		}
		db.describe = "PostgreSQL " + redactURL(db.url)
		db.drop = func() {
			if keep {
				logf("kept %s", redactURL(db.url))
			} else if err := dropPostgres(addr, "siyu_rush_"+runID); err != nil {
				logf("dropping the throwaway database: %v", err)
			}
			removeDir()
		}
	}
	return db, nil
}

// createPostgres makes an empty database on base's server and returns its
// URL. The server must be on loopback: the rush loads it hard.
func createPostgres(ctx context.Context, base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("SIYU_DATABASE_URL: %w", err)
	}
	if h := u.Hostname(); h != "" && !strings.HasPrefix(h, "/") && !isLoopback(h) {
		return "", fmt.Errorf("rush: PostgreSQL at %s is not on loopback: rush only loads loopback", h)
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("creating the throwaway database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropPostgres(base, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkLoopbackRedis refuses a Redis that is not on loopback: every buy of
// the rush is a script call on it.
func checkLoopbackRedis(raw string) error {
	if raw == "" {
		return nil
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return fmt.Errorf("SIYU_REDIS_URL: %w", err)
	}
	host, _, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return err
	}
	if !isLoopback(host) {
		return fmt.Errorf("rush: Redis at %s is not on loopback: rush only loads loopback", opt.Addr)
	}
	return nil
}

// deleteRedisKeys removes every key of the run: the sessions' state, their
// queues and the benchmark's keys all live under the run's prefix.
func deleteRedisKeys(ctx context.Context, raw, prefix string, logf func(string, ...any)) {
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	var keys []string
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		if err := rdb.Unlink(ctx, keys[:n]...).Err(); err != nil {
			logf("deleting the run's Redis keys: %v", err)
			return
		}
		keys = keys[n:]
	}
	if err := iter.Err(); err != nil {
		logf("listing the run's Redis keys: %v", err)
	}
}

// serveLoopback serves the app on 127.0.0.1 on a free port, with its
// workers (the order writers among them), until stop.
func serveLoopback(ctx context.Context, a *app.App) (base string, stop func(), err error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, func(addr string) { addrc <- addr }) }()
	select {
	case addr := <-addrc:
		return "http://" + addr, func() { cancel(); <-done }, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("the server stopped before it listened")
		}
		return "", nil, err
	}
}
