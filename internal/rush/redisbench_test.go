package rush

import (
	"context"
	"os/exec"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/flashsale/flashredis"
	"github.com/siyu-commerce/siyu/internal/platform/testenv"
)

func TestParseRedisBenchCSV(t *testing.T) {
	out := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"EVALSHA 3f2a 4 k1 k2 k3 k4 b__rand_int__ 1","81234.56","0.580","0.096","0.551","0.895","1.231","3.447"
`
	rb, err := parseRedisBenchCSV([]byte(out))
	if err != nil || rb.RPS != 81234.56 || rb.P50MS != 0.551 || rb.P99MS != 1.231 {
		t.Fatalf("%+v, %v", rb, err)
	}
	if _, err := parseRedisBenchCSV([]byte(`"test","rps"` + "\n")); err == nil {
		t.Fatal("a header alone parsed")
	}
}

// On a real Redis: the script answers "won" with the layout the benchmark
// passes (so the benchmark measures wins, not errors), redis-benchmark runs,
// and nothing is left under the prefix.
func TestRedisBenchOnRedis(t *testing.T) {
	url := testenv.Need(t, testenv.RedisVar)
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		t.Skip("redis-benchmark is not installed")
	}
	ctx := context.Background()
	c := RedisBenchConfig{Binary: bin, URL: url, Requests: 2000, Clients: 4, Prefix: "siyu-rush:test" + t.Name() + ":"}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()

	keys := c.keys("probe")
	defer c.cleanup(ctx, rdb)
	if err := rdb.HSet(ctx, keys[0], "left", 1, "limit", 1, "start", 0, "end", int64(1)<<50).Err(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{0, 1} { // won, then sold out
		v, err := rdb.Eval(ctx, flashredis.ReserveSource(), keys, "b1", 1, 1000, "t"+string(rune('a'+i)), "s", "k", "d").Int64Slice()
		if err != nil || v[0] != want {
			t.Fatalf("reserve %d answered %v, %v; want code %d", i, v, err, want)
		}
	}

	rb, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rb) != 2 || rb[0].RPS <= 0 || rb[1].RPS <= 0 || rb[0].Case != "selling" {
		t.Fatalf("%+v", rb)
	}
	// The selling case measured wins (each queued one), the sold-out one none.
	if rb[0].Wins < 1900 || rb[1].Wins != 0 {
		t.Fatalf("wins queued: selling %d of 2000, sold out %d", rb[0].Wins, rb[1].Wins)
	}
	left, err := rdb.Keys(ctx, c.Prefix+"*").Result()
	if err != nil || len(left) != 0 {
		t.Fatalf("keys left under the prefix: %v, %v", left, err)
	}
	if _, err := (RedisBenchConfig{Binary: bin, URL: "redis://10.1.2.3:6379/0", Requests: 1, Clients: 1, Prefix: "siyu-rush:x:"}).Run(ctx); err == nil {
		t.Fatal("redis-benchmark against a non-loopback Redis")
	}
}
