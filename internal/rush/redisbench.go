package rush

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/flashsale/flashredis"
)

// RedisBench is redis-benchmark's figure for one case of the reserve script.
type RedisBench struct {
	Case     string  `json:"case"` // "selling" or "sold out"
	RPS      float64 `json:"rps"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
	Clients  int     `json:"clients"`
	Requests int     `json:"requests"`
	// Wins is the entries the script queued in the wins stream: about
	// Requests when selling (each request won), 0 when sold out.
	Wins    int64  `json:"wins"`
	Command string `json:"command"`
}

// RedisBenchConfig runs redis-benchmark on the reserve script: EVALSHA
// after SCRIPT LOAD, against throwaway keys under Prefix, which it deletes
// afterwards.
type RedisBenchConfig struct {
	Binary   string // redis-benchmark
	URL      string // redis://127.0.0.1:6379/0; loopback only
	Requests int
	Clients  int
	Prefix   string // keys' prefix, only ever used by rush
}

// Run measures two cases: "selling" (stock enough for every request, every
// request a new buyer and ticket: each wins, and queues its win), and "sold
// out" (no stock: the script's cheapest path, which the in-process sold-out
// flag normally spares Redis).
func (c RedisBenchConfig) Run(ctx context.Context) ([]RedisBench, error) {
	opt, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	host, port, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return nil, err
	}
	if !loopbackHost(host) {
		return nil, fmt.Errorf("redis at %s is not a loopback address: rush only loads loopback", opt.Addr)
	}
	if !strings.HasPrefix(c.Prefix, "siyu-rush:") {
		return nil, errors.New("the redis-benchmark key prefix must start with siyu-rush:")
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	defer c.cleanup(context.WithoutCancel(ctx), rdb)
	sha, err := rdb.ScriptLoad(ctx, flashredis.ReserveSource()).Result()
	if err != nil {
		return nil, fmt.Errorf("SCRIPT LOAD: %w", err)
	}
	var out []RedisBench
	for _, cs := range []struct {
		name string
		left int64
	}{{"selling", 1 << 40}, {"sold out", 0}} {
		keys := c.keys(cs.name)
		// The state as flashredis's load.lua writes it: the gate open
		// since the epoch and for centuries, no buyer limit that a
		// benchmark could reach.
		err := rdb.HSet(ctx, keys[0], "left", cs.left, "limit", 1<<40, "start", 0, "end", int64(1)<<50).Err()
		if err != nil {
			return out, err
		}
		args := []string{"-h", host, "-p", port, "-n", strconv.Itoa(c.Requests), "-c", strconv.Itoa(c.Clients),
			"-r", "1000000000", "--csv"}
		if opt.DB != 0 {
			args = append(args, "--dbnum", strconv.Itoa(opt.DB))
		}
		if opt.Username != "" {
			args = append(args, "--user", opt.Username)
		}
		auth := args
		if opt.Password != "" {
			auth = append(append([]string(nil), args...), "-a", opt.Password)
		}
		// KEYS and ARGV as flashredis.Reserver.Reserve passes them; each
		// request a new buyer and ticket (redis-benchmark replaces every
		// __rand_int__ with its own random number).
		script := []string{"EVALSHA", sha, strconv.Itoa(len(keys))}
		script = append(script, keys...)
		script = append(script, "b__rand_int__", "1", strconv.FormatInt(time.Now().UnixMilli(), 10),
			"t__rand_int__", "rush-bench", "rush-bench-sku", "rush-bench-data")
		rb, err := c.bench(ctx, append(auth, script...))
		if err != nil {
			return out, err
		}
		rb.Case = cs.name
		if rb.Wins, err = rdb.XLen(ctx, keys[3]).Result(); err != nil && !errors.Is(err, redis.Nil) {
			return out, err
		}
		rb.Command = c.Binary + " " + strings.Join(append(args, script...), " ")
		out = append(out, rb)
	}
	return out, nil
}

// keys are one case's keys, laid out as flashredis lays out a session SKU's:
// state, buyers, tickets, wins, under one hash tag.
func (c RedisBenchConfig) keys(name string) []string {
	tag := c.Prefix + "{bench-" + strings.ReplaceAll(name, " ", "-") + "}"
	return []string{tag + ":s", tag + ":b", tag + ":t", tag + ":w"}
}

func (c RedisBenchConfig) bench(ctx context.Context, args []string) (RedisBench, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Binary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return RedisBench{}, fmt.Errorf("%s: %w: %s", c.Binary, err, strings.TrimSpace(stderr.String()))
	}
	rb, err := parseRedisBenchCSV(stdout.Bytes())
	if err != nil {
		return rb, fmt.Errorf("%w (%s)", err, strings.TrimSpace(stdout.String()+" "+stderr.String()))
	}
	rb.Clients, rb.Requests = c.Clients, c.Requests
	return rb, nil
}

// parseRedisBenchCSV reads redis-benchmark --csv: a header row naming the
// columns ("test","rps","avg_latency_ms",...,"p50_latency_ms",...) and one
// row per test.
func parseRedisBenchCSV(b []byte) (RedisBench, error) {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return RedisBench{}, fmt.Errorf("redis-benchmark output: %w", err)
	}
	if len(rows) < 2 {
		return RedisBench{}, errors.New("redis-benchmark printed no result")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	row := rows[len(rows)-1]
	get := func(name string) float64 {
		i, ok := col[name]
		if !ok || i >= len(row) {
			return 0
		}
		v, _ := strconv.ParseFloat(row[i], 64)
		return v
	}
	rb := RedisBench{RPS: get("rps"), P50MS: get("p50_latency_ms"), P99MS: get("p99_latency_ms")}
	if rb.RPS <= 0 {
		return rb, errors.New("redis-benchmark printed no requests per second")
	}
	return rb, nil
}

// cleanup deletes every key under the prefix.
func (c RedisBenchConfig) cleanup(ctx context.Context, rdb *redis.Client) {
	iter := rdb.Scan(ctx, 0, c.Prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if len(keys) > 0 {
		rdb.Unlink(ctx, keys...)
	}
}
