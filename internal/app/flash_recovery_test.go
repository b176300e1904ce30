package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/app"
	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/config"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/testenv"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// orderOfTicket is the order written for a win.
func orderOfTicket(t testing.TB, s *flashShop, w flashWin) *order.Order {
	t.Helper()
	r, err := s.app.Store.FlashReservation(context.Background(), w.ticket)
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.app.Store.Order(context.Background(), r.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestFlashUnpaidUnitIsWonAgain: a winner who does not pay loses the order
// when its pay window passes, and the unit is winnable again, once.
func TestFlashUnpaidUnitIsWonAgain(t *testing.T) {
	for _, m := range flashModes() {
		t.Run(m.name, func(t *testing.T) {
			s := newFlashShop(t, m, 2, 1)
			buyers := (&gbShop{app: s.app}).buyers(t, 4)
			ctx := context.Background()
			s.open()
			wins := s.rush(t, buyers[:3], "w1")
			s.flush(t)
			if len(wins) != 2 {
				t.Fatalf("%d wins of 2 units", len(wins))
			}
			s.checkOrders(t, wins, 1)
			// One winner pays; the other does not. Past the 5-minute pay
			// window the unpaid order closes and its unit comes back.
			paid := orderOfTicket(t, s, wins[0])
			(&gbShop{app: s.app}).pay(t, paid, sandbox.Faults{})
			(&gbShop{app: s.app}).settle(t)
			s.app.Clock.Advance(6 * time.Minute)
			s.app.Drain(t)
			r, err := s.app.Store.FlashReservation(ctx, wins[1].ticket)
			if err != nil || r.Status != flashsale.Released {
				t.Fatalf("the unpaid reservation: %+v %v", r, err)
			}
			// Delivered twice (an at-least-once consumer): still one unit.
			res, err := s.buy(ctx, buyers[3], "again-1", 1)
			if err != nil || res.Outcome != flashsale.Won {
				t.Fatalf("the returned unit: %+v %v", res, err)
			}
			if res, err := s.buy(ctx, buyers[2], "again-2", 1); err != nil || res.Outcome != flashsale.SoldOut {
				t.Fatalf("a second buyer for the one returned unit: %+v %v", res, err)
			}
			s.flush(t)
			sess, _ := s.app.Flash.Session(ctx, s.session.ID)
			if sess.SKUs[0].Won != 2 {
				t.Fatalf("won %d after the unit was won again, want 2", sess.SKUs[0].Won)
			}
		})
	}
}

// TestFlashWriterKilledMidBatch: a writer that dies before its commit, or
// after it but before acknowledging the queue, loses no winner and writes
// none twice once it (or another) starts again.
func TestFlashWriterKilledMidBatch(t *testing.T) {
	for _, m := range flashModes() {
		t.Run(m.name, func(t *testing.T) {
			s := newFlashShop(t, m, 300, 2)
			buyers := (&gbShop{app: s.app}).buyers(t, 400)
			ctx := context.Background()
			s.open()
			wins := s.rush(t, buyers, "k1")
			consumer := s.app.Flash.Config.Consumer + "-flush"
			// Killed after its commit, before the Ack: the batch is in the
			// database and still in the queue.
			batch, err := s.app.Flash.Reserver.Wins(ctx, consumer, 50, 0)
			if err != nil || len(batch) == 0 {
				t.Fatalf("wins: %d %v", len(batch), err)
			}
			if err := s.app.Flash.WriteBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
			// Killed mid-transaction: contexts cancelled at growing points
			// of the write; whatever got through is committed whole or not
			// at all.
			for d := 100 * time.Microsecond; d < 50*time.Millisecond; d *= 2 {
				cctx, cancel := context.WithTimeout(ctx, d)
				more, err := s.app.Flash.Reserver.Wins(cctx, consumer, 100, 0)
				if err == nil && len(more) > 0 {
					_ = s.app.Flash.WriteBatch(cctx, more)
				}
				cancel()
			}
			// Restarted: the same consumer takes its wins back first.
			s.flush(t)
			s.checkOrders(t, wins, 2)
		})
	}
}

// TestFlashRedisRestartedMidSale runs a sale on a Redis of its own (AOF,
// fsync always) and kills it with SIGKILL mid-sale, twice: presses during
// the outage fail (503), nothing is oversold, no winner is lost and none is
// written twice.
func TestFlashRedisRestartedMidSale(t *testing.T) {
	testenv.Need(t, testenv.RedisVar)
	srv := startRedis(t)
	a := apptest.NewWith(t, apptest.Postgres, func(c *config.Config) { c.RedisURL = srv.url },
		apptest.Options{FlashPrefix: "siyu:test:" + ids.Token(6) + ":"})
	s := &flashShop{app: a, sku: stockedSKU(t, a, "flash", 5999, 4999)}
	start := a.Clock.Now().Add(time.Minute)
	var err error
	if s.session, err = a.Flash.CreateSession(context.Background(), "op", flashsale.NewSession{
		Name: "restart", StartsAt: start, EndsAt: start.Add(time.Hour),
		SKUs: []flashsale.NewSessionSKU{{SKUID: s.sku, Price: 1999, Quota: 2000, Limit: 2}},
	}); err != nil {
		t.Fatal(err)
	}
	// Three waves of 500 buyers ask 750 units each: the quota sells out in
	// the third, after two outages (before it, so no sold-out flag answers
	// for Redis during an outage).
	buyers := (&gbShop{app: a}).buyers(t, 1500)
	s.open()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Flash.RunWriters(ctx); close(done) }()

	var wins []flashWin
	var failed int
	for wave := range 3 {
		part := buyers[wave*500 : (wave+1)*500]
		w, f := s.tolerantRush(t, part, fmt.Sprintf("wave%d", wave))
		wins, failed = append(wins, w...), failed+f
		if wave < 2 {
			srv.kill(t)
			if _, f := s.tolerantRush(t, part[:20], "outage"); f != 20 {
				t.Fatalf("%d of 20 presses answered while Redis was down", 20-f)
			}
			srv.start(t)
		}
	}
	stop()
	<-done
	s.flush(t)
	total := 0
	for _, w := range wins {
		total += w.qty
	}
	if total != 2000 {
		t.Fatalf("%d units won of 2000 (%d presses failed)", total, failed)
	}
	s.checkOrders(t, wins, 2)
}

// tolerantRush is rush where a failed press (the engine down) is counted,
// not fatal.
func (s *flashShop) tolerantRush(t testing.TB, buyers []gbBuyer, tag string) ([]flashWin, int) {
	var (
		mu     sync.Mutex
		wins   []flashWin
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.buy(context.Background(), b, tag+"-"+b.id[:10], 1+i%2)
			switch {
			case err != nil && errs.KindOf(err) == errs.Unavailable:
				failed.Add(1)
			case err != nil:
				t.Errorf("buy: %v", err)
			case res.Outcome == flashsale.Won && !res.Repeat:
				mu.Lock()
				wins = append(wins, flashWin{b.id, res.ReservationID, 1 + i%2})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return wins, int(failed.Load())
}

// redisServer is a redis-server of the test's own, persisted with AOF and
// fsync on every write, so a SIGKILL loses nothing acknowledged.
type redisServer struct {
	url, dir, port string
	cmd            *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is needed for the restart test: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	r := &redisServer{dir: t.TempDir(), port: port, url: "redis://127.0.0.1:" + port + "/0"}
	r.start(t)
	t.Cleanup(func() {
		if r.cmd != nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	})
	return r
}

func (r *redisServer) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command("redis-server", "--port", r.port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction")
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+r.port); err == nil {
			c.Close()
			// Loading the AOF may take a moment after the port opens.
			time.Sleep(50 * time.Millisecond)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
}

func (r *redisServer) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	r.cmd.Wait()
	r.cmd = nil
	if _, err := os.Stat(filepath.Join(r.dir, "appendonlydir")); err != nil {
		t.Fatalf("no AOF after the kill: %v", err)
	}
}

// TestFlashTwoReplicas runs two apps (two replicas: their own connection
// pools, order writers, sold-out flags and session caches) on one
// PostgreSQL and one Redis, serving HTTP; buyers press on either, retries
// on the other. Nothing is oversold and every win is one order.
func TestFlashTwoReplicas(t *testing.T) {
	prefix := "siyu:test:" + ids.Token(6) + ":"
	one := apptest.NewWith(t, apptest.Postgres, withRedis(t), apptest.Options{Replica: "r1", FlashPrefix: prefix})
	two, err := app.New(context.Background(), one.Config, app.Options{Clock: one.Clock, Replica: "r2", FlashPrefix: prefix,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { two.Close() })
	s := &flashShop{app: one, sku: stockedSKU(t, one, "flash", 5999, 4999)}
	start := one.Clock.Now().Add(time.Minute)
	if s.session, err = one.Flash.CreateSession(context.Background(), "op", flashsale.NewSession{
		Name: "replicas", StartsAt: start, EndsAt: start.Add(time.Hour),
		SKUs: []flashsale.NewSessionSKU{{SKUID: s.sku, Price: 1999, Quota: 300, Limit: 2}},
	}); err != nil {
		t.Fatal(err)
	}
	servers := []*httptest.Server{httptest.NewServer(one.Handler), httptest.NewServer(two.Handler)}
	for _, srv := range servers {
		t.Cleanup(srv.Close)
	}
	ctx, stop := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	for _, a := range []*app.App{one.App, two} {
		workers.Add(1)
		go func() { defer workers.Done(); a.Flash.RunWriters(ctx) }()
	}
	type buyer struct {
		gbBuyer
		token string
	}
	var buyers []buyer
	for i := range 1200 {
		tok, b, _, err := one.Identity.Login(context.Background(), fmt.Sprintf("replica-%s-%d", prefix, i))
		if err != nil {
			t.Fatal(err)
		}
		addr := (&gbShop{app: one}).address(t, b.ID)
		buyers = append(buyers, buyer{gbBuyer{b.ID, addr}, tok})
	}
	s.open()
	var (
		mu   sync.Mutex
		wins []flashWin
		wg   sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"sku_id": s.sku, "qty": 1 + i%2, "address_id": b.address, "request_id": "press-" + b.id[:12]})
			for try := range 1 + i%3 {
				srv := servers[(i+try)%2]
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/flash/sessions/"+s.session.ID+"/buy", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+b.token)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var out struct {
					Outcome       string `json:"outcome"`
					ReservationID string `json:"reservation_id"`
					Repeat        bool   `json:"repeat"`
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("buy: %d %v", resp.StatusCode, err)
					return
				}
				if out.Outcome == "won" && !out.Repeat {
					mu.Lock()
					wins = append(wins, flashWin{b.id, out.ReservationID, 1 + i%2})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	// Both replicas' writers drain the queue; wait until the database holds
	// every win.
	deadline := time.Now().Add(20 * time.Second)
	for {
		sess, err := one.Flash.Session(context.Background(), s.session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sess.SKUs[0].Won == 300 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	workers.Wait()
	total := 0
	for _, w := range wins {
		total += w.qty
	}
	if total != 300 {
		t.Fatalf("%d units won of 300 across two replicas", total)
	}
	s.checkOrders(t, wins, 2)
}

// TestFlashRedisLostItsData: Redis comes back empty mid-sale (a restart
// without persistence; here the session's keys are deleted). The next press
// finds no state, the session is rebuilt from the database, and the sale
// goes on: the units written before count, nothing is sold twice.
func TestFlashRedisLostItsData(t *testing.T) {
	prefix := "siyu:test:" + ids.Token(6) + ":"
	a := apptest.NewWith(t, apptest.Postgres, withRedis(t), apptest.Options{FlashPrefix: prefix})
	s := &flashShop{app: a, sku: stockedSKU(t, a, "flash", 5999, 4999)}
	start := a.Clock.Now().Add(time.Minute)
	var err error
	if s.session, err = a.Flash.CreateSession(context.Background(), "op", flashsale.NewSession{
		Name: "wiped", StartsAt: start, EndsAt: start.Add(time.Hour),
		SKUs: []flashsale.NewSessionSKU{{SKUID: s.sku, Price: 1999, Quota: 500, Limit: 2}},
	}); err != nil {
		t.Fatal(err)
	}
	buyers := (&gbShop{app: a}).buyers(t, 600)
	s.open()
	first := s.rush(t, buyers[:200], "before")
	s.flush(t)
	// The data is lost: every key of the sale, state and queue.
	opt, err := redis.ParseURL(testenv.Need(t, testenv.RedisVar))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	// The same buyers and 400 more come back: their first presses are
	// repeats (the rebuilt state knows their tickets), their limits hold,
	// and only the rest of the quota sells.
	second := s.rush(t, buyers, "before")
	s.flush(t)
	all := append(first, second...)
	total := 0
	for _, w := range all {
		total += w.qty
	}
	if total != 500 {
		t.Fatalf("%d units won of 500 across the loss", total)
	}
	s.checkOrders(t, all, 2)
}
