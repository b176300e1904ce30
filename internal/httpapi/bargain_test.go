package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/config"
)

// bargainWorld is the shop of world (skuA: list 2599, sale 1999 fen) with
// ten helpers, every account a week old when the test starts, so none is
// too new to help nor part of a new-account cluster.
type bargainWorld struct {
	*world
	helpers []*client
	users   map[*client]string // buyer clients and their WeChat users, to log in again
	ops     map[*client]string // operator clients and their emails

	mu     sync.Mutex
	events map[string][]bargain.Event
}

func newBargainWorld(t *testing.T, engine apptest.Engine, mod func(*config.Config)) *bargainWorld {
	t.Helper()
	a := apptest.New(t, engine, mod)
	w := &world{t: t, app: a}
	w.anon = &client{t: t, h: a.Handler}
	ctx := context.Background()
	bw := &bargainWorld{world: w, users: map[*client]string{}, ops: map[*client]string{}, events: map[string][]bargain.Event{}}
	for _, role := range []identity.Role{identity.Owner, identity.Operator, identity.Finance, identity.Reviewer} {
		if _, err := a.Identity.CreateOperator(ctx, string(role)+"@shop.example", password, role); err != nil {
			t.Fatalf("create %s: %v", role, err)
		}
	}
	for _, op := range []struct {
		c    **client
		role identity.Role
	}{{&w.owner, identity.Owner}, {&w.operator, identity.Operator}, {&w.finance, identity.Finance}, {&w.reviewer, identity.Reviewer}} {
		*op.c = w.operatorLogin(string(op.role) + "@shop.example")
		bw.ops[*op.c] = string(op.role) + "@shop.example"
	}
	w.operator.must(201, "POST", "/admin/api/v1/categories", map[string]any{"name": "Tea", "sort": 1}, &w.category)
	w.operator.must(201, "POST", "/admin/api/v1/products", map[string]any{
		"category_id": w.category.ID, "title": "Longjing green tea", "status": "on_sale", "images": []string{},
		"skus": []map[string]any{
			{"code": "LJ-50", "specs": []map[string]string{{"name": "weight", "value": "50g"}}, "list_price": 2599, "sale_price": 1999},
			{"code": "LJ-100", "specs": []map[string]string{{"name": "weight", "value": "100g"}}, "list_price": 3999, "sale_price": 2999},
		},
	}, &w.product)
	w.skuA, w.skuB = w.product.SKUs[0].ID, w.product.SKUs[1].ID
	w.operator.must(201, "POST", "/admin/api/v1/stock/adjustments",
		map[string]any{"sku_id": w.skuA, "delta": 100, "reason": "receive", "note": "first delivery"}, nil)
	w.alice, w.bob = bw.buyer("alice"), bw.buyer("bob")
	w.alice.must(201, "POST", "/api/v1/addresses", addressBody("张三丰", "13812345678", "西湖区文三路88号3幢"), &w.aliceAddr)
	w.bob.must(201, "POST", "/api/v1/addresses", addressBody("李四", "13900001111", "滨江区江南大道1号"), &w.bobAddr)
	for i := range 10 {
		bw.helpers = append(bw.helpers, bw.buyer(fmt.Sprintf("helper%d", i)))
	}
	// Every request of a test comes from httptest's one address: the
	// per-address limit has its own test.
	a.Bargains.Config.IPRate = 1000
	for _, topic := range []string{bargain.TopicOpened, bargain.TopicHelped, bargain.TopicSucceeded, bargain.TopicExpired, bargain.TopicHelpHeld} {
		a.Events.On(topic, func(_ context.Context, e outbox.Event) error {
			var ev bargain.Event
			if err := json.Unmarshal(e.Payload, &ev); err != nil {
				return err
			}
			bw.mu.Lock()
			defer bw.mu.Unlock()
			bw.events[e.Topic] = append(bw.events[e.Topic], ev)
			return nil
		})
	}
	bw.age(8 * 24 * time.Hour)
	return bw
}

// buyer logs a WeChat user in (making their account now).
func (bw *bargainWorld) buyer(user string) *client {
	c := bw.buyerLogin(user)
	bw.users[c] = user
	return c
}

// age moves the clock on and logs everyone in again: sessions end (an
// operator's after 12 hours, a buyer's after 7 days) but accounts stay.
func (bw *bargainWorld) age(d time.Duration) {
	bw.app.Clock.Advance(d)
	for c, user := range bw.users {
		c.token = bw.buyerLogin(user).token
	}
	for c, email := range bw.ops {
		c.token = bw.operatorLogin(email).token
	}
}

func (bw *bargainWorld) eventsOf(topic string) []bargain.Event {
	bw.settle()
	bw.mu.Lock()
	defer bw.mu.Unlock()
	return append([]bargain.Event(nil), bw.events[topic]...)
}

type bargainActivityJSON struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Helpers    int             `json:"helpers"`
	FromPrice  money.Fen       `json:"from_price"`
	FloorPrice money.Fen       `json:"floor_price"`
	Sold       int             `json:"sold"`
	Schedule   []money.Fen     `json:"schedule"`
	Reward     *bargain.Reward `json:"reward"`
}

type bargainJSON struct {
	ID          string      `json:"id"`
	Status      string      `json:"status"`
	Schedule    []money.Fen `json:"schedule"`
	Helpers     int         `json:"helpers"`
	CutsApplied int         `json:"cuts_applied"`
	Price       money.Fen   `json:"price"`
	Ordered     bool        `json:"ordered"`
	ExpiresAt   time.Time   `json:"expires_at"`
	OrderBy     *time.Time  `json:"order_by"`
}

type helpAnswerJSON struct {
	Help struct {
		ID     string    `json:"id"`
		Slot   *int      `json:"slot"`
		Amount money.Fen `json:"amount"`
		Status string    `json:"status"`
	} `json:"help"`
	Bargain bargainJSON `json:"bargain"`
}

type helpDecisionJSON struct {
	Help    bargain.Help    `json:"help"`
	Bargain bargain.Bargain `json:"bargain"`
}

// activityBody is a compliant activity on skuA starting now: from the list
// price 2599 to 0 in 3 helps; change sets (or, with nil, removes) fields.
func (bw *bargainWorld) activityBody(change map[string]any) map[string]any {
	now := bw.app.Clock.Now()
	body := map[string]any{
		"title": "好友帮砍，砍到 0 元", "rules": "邀请 3 位好友帮忙砍价，每位好友砍掉的金额在活动页公布，砍到 0 元免费拿。",
		"share_notice": "好友参与活动可能需要付费", "starts_at": now.Format(time.RFC3339),
		"ends_at": now.Add(72 * time.Hour).Format(time.RFC3339), "sku_id": bw.skuA, "from_price": 2599,
		"floor_price": 0, "helpers": 3, "quota": 10, "buy_at_current": true,
	}
	for k, v := range change {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	return body
}

// activity creates a draft as the operator and publishes it as the reviewer.
func (bw *bargainWorld) activity(change map[string]any) bargainActivityJSON {
	bw.t.Helper()
	var a bargainActivityJSON
	bw.operator.must(201, "POST", "/admin/api/v1/bargain-activities", bw.activityBody(change), &a)
	bw.reviewer.must(200, "POST", "/admin/api/v1/bargain-activities/"+a.ID+"/publish", nil, &a)
	if a.Status != "published" {
		bw.t.Fatalf("published activity: %+v", a)
	}
	return a
}

func (bw *bargainWorld) open(c *client, activityID string) bargainJSON {
	bw.t.Helper()
	var b bargainJSON
	c.must(201, "POST", "/api/v1/bargain-activities/"+activityID+"/bargains", nil, &b)
	return b
}

func (bw *bargainWorld) help(c *client, bargainID, device string) reply {
	bw.t.Helper()
	return c.do("POST", "/api/v1/bargains/"+bargainID+"/helps", nil, "X-Device-Id", device)
}

func (bw *bargainWorld) helped(c *client, bargainID, device string) helpAnswerJSON {
	bw.t.Helper()
	r := bw.help(c, bargainID, device)
	if r.Status != 201 {
		bw.t.Fatalf("help %s from %s: %d %s", bargainID, device, r.Status, r.Body)
	}
	var h helpAnswerJSON
	if err := json.Unmarshal(r.Body, &h); err != nil {
		bw.t.Fatal(err)
	}
	return h
}

func (bw *bargainWorld) refused(r reply, status int, code string) {
	bw.t.Helper()
	if r.Status != status || r.problem(bw.t).Code != code {
		bw.t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

// TestBargainToTheFloor: a bargain reaches 0 in exactly N helps, each the
// slot's disclosed amount, and the initiator orders it: with a shipping fee
// the order costs the shipping and is paid through the simulator; with free
// shipping it costs nothing and is paid at once.
func TestBargainToTheFloor(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			for _, free := range []bool{false, true} {
				name := "shipping paid through the simulator"
				var mod func(*config.Config)
				if free {
					name, mod = "free shipping paid at once", func(c *config.Config) { c.ShippingFee = 0 }
				}
				t.Run(name, func(t *testing.T) { bargainToTheFloor(t, newBargainWorld(t, engine, mod), free) })
			}
		})
	}
}

func bargainToTheFloor(t *testing.T, bw *bargainWorld, free bool) {
	act := bw.activity(map[string]any{"reward": map[string]any{"value": 500, "description": "5 元无门槛券"}})
	var shown bargainActivityJSON
	bw.anon.must(200, "GET", "/api/v1/bargain-activities/"+act.ID, nil, &shown)
	if len(shown.Schedule) != 3 || money.Sum(shown.Schedule) != 2599 || shown.Reward.Value != 500 {
		t.Fatalf("the schedule shown before anyone acts: %+v", shown)
	}

	b := bw.open(bw.alice, act.ID)
	if again := bw.open(bw.alice, act.ID); again.ID != b.ID {
		t.Fatalf("opening again made %s, not %s", again.ID, b.ID)
	}
	r := bw.anon.must(200, "GET", "/api/v1/bargains/"+b.ID, nil, &b)
	if b.Status != "open" || b.Price != 2599 || b.Helpers != 3 || !slicesEqual(b.Schedule, shown.Schedule) ||
		strings.Contains(string(r.Body), "initiator") {
		t.Fatalf("the bargain as anyone sees it: %s", r.Body)
	}
	// An open bargain may be shared; a finished one asks nobody for help.
	share := map[string]any{"target_kind": "bargain", "target_id": b.ID, "activity_id": act.ID}
	bw.alice.must(201, "POST", "/api/v1/shares", share, nil)
	price := money.Fen(2599)
	for i := range 3 {
		h := bw.helped(bw.helpers[i], b.ID, fmt.Sprintf("dev-%d", i))
		price -= shown.Schedule[i]
		if *h.Help.Slot != i || h.Help.Amount != shown.Schedule[i] || h.Help.Status != "applied" || h.Bargain.Price != price {
			t.Fatalf("help %d: %+v", i, h)
		}
		b = h.Bargain
	}
	if b.Status != "succeeded" || b.Price != 0 || b.CutsApplied != 3 || b.OrderBy == nil {
		t.Fatalf("after 3 helps: %+v", b)
	}
	bw.refused(bw.help(bw.helpers[3], b.ID, "dev-3"), 409, "bargain_complete")
	bw.refused(bw.alice.do("POST", "/api/v1/shares", share), 400, "share_target_not_found")

	bw.refused(bw.bob.do("POST", "/api/v1/bargains/"+b.ID+"/order", map[string]any{"address_id": bw.bobAddr.ID}), 404, "bargain_not_found")
	var o order.Order
	bw.alice.must(201, "POST", "/api/v1/bargains/"+b.ID+"/order", map[string]any{"address_id": bw.aliceAddr.ID, "remark": "谢谢"}, &o)
	if o.Activity == nil || o.Activity.Kind != order.ActivityBargain || o.Activity.Ref != b.ID || o.Lines[0].Amount != 0 {
		t.Fatalf("order %+v", o)
	}
	bw.refused(bw.alice.do("POST", "/api/v1/bargains/"+b.ID+"/order", map[string]any{"address_id": bw.aliceAddr.ID}), 409, "bargain_ordered")
	if free {
		if o.Total != 0 || o.Status != order.Paid {
			t.Fatalf("a free order: total %d, %s; want 0, paid at once", o.Total, o.Status)
		}
	} else {
		if o.Total != 800 || o.Status != order.PendingPayment {
			t.Fatalf("the order costs the shipping: total %d, %s", o.Total, o.Status)
		}
		bw.alice.must(201, "POST", "/api/v1/orders/"+o.ID+"/payments", nil, nil)
		bw.buyerPays(o.ID)
		bw.alice.must(200, "GET", "/api/v1/orders/"+o.ID, nil, &o)
		if o.Status != order.Paid {
			t.Fatalf("after paying: %s", o.Status)
		}
	}
	bw.soundLedger()

	helped := bw.eventsOf(bargain.TopicHelped)
	if len(helped) != 3 || len(bw.eventsOf(bargain.TopicSucceeded)) != 1 || len(bw.eventsOf(bargain.TopicOpened)) != 1 {
		t.Fatalf("events: %d helped", len(helped))
	}
	for i, e := range helped {
		if e.Reward == nil || e.Reward.Value != 500 || e.HelperID == "" || *e.Slot != i || e.Amount != shown.Schedule[i] {
			t.Fatalf("bargain.helped %d: %+v", i, e)
		}
	}
	var page struct {
		Items []bargain.Bargain `json:"items"`
	}
	bw.operator.must(200, "GET", "/admin/api/v1/bargains?status=succeeded&activity_id="+act.ID, nil, &page)
	if len(page.Items) != 1 || page.Items[0].OrderID != o.ID || page.Items[0].ID != b.ID {
		t.Fatalf("the operator's view: %+v", page.Items)
	}
	var a bargainActivityJSON
	bw.operator.must(200, "GET", "/admin/api/v1/bargain-activities/"+act.ID, nil, &a)
	if a.Sold != 1 {
		t.Fatalf("sold %d", a.Sold)
	}
}

func slicesEqual(a, b []money.Fen) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBargainExpiry: the expiry job closes a bargain at its window's end;
// with buy-at-current terms it is then bought at the price reached, until
// pay_hours past the expiry; without them, ordering is refused.
func TestBargainExpiry(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			bw := newBargainWorld(t, engine, nil)
			now := bw.app.Clock.Now()
			current := bw.activity(nil)
			strict := bw.activity(map[string]any{"buy_at_current": false})
			short := bw.activity(map[string]any{"ends_at": now.Add(5 * time.Hour).Format(time.RFC3339)})

			b := bw.open(bw.alice, current.ID)
			if !b.ExpiresAt.Equal(now.Add(10 * time.Hour)) {
				t.Fatalf("expires %s, want 10 hours from %s", b.ExpiresAt, now)
			}
			if s := bw.open(bw.alice, short.ID); !s.ExpiresAt.Equal(now.Add(5 * time.Hour)) {
				t.Fatalf("a bargain outlives its activity: %s", s.ExpiresAt)
			}
			late := bw.open(bw.helpers[9], current.ID)
			nob := bw.open(bw.bob, strict.ID)
			cut := bw.helped(bw.helpers[0], b.ID, "dev-0").Help.Amount

			bw.app.Clock.Advance(10*time.Hour - time.Second)
			bw.settle()
			bw.anon.must(200, "GET", "/api/v1/bargains/"+b.ID, nil, &b)
			if b.Status != "open" {
				t.Fatalf("expired early: %s", b.Status)
			}
			bw.app.Clock.Advance(time.Second)
			bw.settle()
			bw.anon.must(200, "GET", "/api/v1/bargains/"+b.ID, nil, &b)
			if b.Status != "expired" || b.OrderBy == nil || !b.OrderBy.Equal(b.ExpiresAt.Add(24*time.Hour)) {
				t.Fatalf("after the window: %+v", b)
			}
			if n := len(bw.eventsOf(bargain.TopicExpired)); n != 4 {
				t.Fatalf("%d bargain.expired events, want 4", n)
			}
			bw.refused(bw.help(bw.helpers[1], b.ID, "dev-1"), 409, "bargain_expired")

			var o order.Order
			bw.alice.must(201, "POST", "/api/v1/bargains/"+b.ID+"/order", map[string]any{"address_id": bw.aliceAddr.ID}, &o)
			if want := 2599 - cut; o.Lines[0].Amount != min(want, 1999) || o.Total != o.Lines[0].Amount+800 {
				t.Fatalf("bought at %d (total %d), want the price reached %d", o.Lines[0].Amount, o.Total, want)
			}
			bw.refused(bw.bob.do("POST", "/api/v1/bargains/"+nob.ID+"/order", map[string]any{"address_id": bw.bobAddr.ID}), 409, "bargain_not_orderable")

			// The order closes unpaid: the bargain may be ordered again,
			// until its deadline.
			bw.app.Clock.Advance(16 * time.Minute)
			bw.settle()
			bw.alice.must(200, "GET", "/api/v1/orders/"+o.ID, nil, &o)
			if o.Status != order.Closed {
				t.Fatalf("the unpaid order is %s", o.Status)
			}
			bw.alice.must(201, "POST", "/api/v1/bargains/"+b.ID+"/order", map[string]any{"address_id": bw.aliceAddr.ID}, &o)
			bw.age(24 * time.Hour)
			// Past pay_hours after the expiry, the chance has gone.
			bw.refused(bw.helpers[9].do("POST", "/api/v1/bargains/"+late.ID+"/order", map[string]any{"address_id": bw.aliceAddr.ID}), 409, "bargain_not_orderable")
		})
	}
}

// TestBargainHelpRules: every help rule answers with its code, a repeat is
// answered with the first help, the suspicious patterns hold a help without
// taking a slot, and an operator approves (the help takes the next slot)
// or rejects it.
func TestBargainHelpRules(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			bw := newBargainWorld(t, engine, nil)
			h := bw.helpers
			act := bw.activity(map[string]any{"helpers": 5})
			b1, b2, b3, b4 := bw.open(bw.alice, act.ID), bw.open(bw.bob, act.ID), bw.open(h[8], act.ID), bw.open(h[9], act.ID)
			minute := func() { bw.app.Clock.Advance(time.Minute) }

			bw.refused(h[0].do("POST", "/api/v1/bargains/"+b1.ID+"/helps", nil), 400, "device_required")
			bw.refused(bw.help(h[0], b1.ID, "two words"), 400, "device_required")
			bw.refused(bw.help(bw.alice, b1.ID, "dev-a"), 403, "cannot_help_self")
			bw.refused(bw.help(bw.buyer("newbie"), b1.ID, "dev-new"), 403, "account_too_new")

			first := bw.helped(h[0], b1.ID, "dev-0")
			if *first.Help.Slot != 0 || first.Bargain.CutsApplied != 1 {
				t.Fatalf("first help: %+v", first)
			}
			// A repeat answers the first help; with an Idempotency-Key the
			// second is a replay.
			if again := bw.helped(h[0], b1.ID, "dev-0"); again.Help.ID != first.Help.ID || again.Bargain.CutsApplied != 1 {
				t.Fatalf("repeat: %+v", again)
			}
			keyed := h[0].must(201, "POST", "/api/v1/bargains/"+b1.ID+"/helps", nil, nil, "X-Device-Id", "dev-0", "Idempotency-Key", "help-1")
			replayed := h[0].must(201, "POST", "/api/v1/bargains/"+b1.ID+"/helps", nil, nil, "X-Device-Id", "dev-0", "Idempotency-Key", "help-1")
			if string(keyed.Body) != string(replayed.Body) || replayed.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("keyed repeat: %s / %s", keyed.Body, replayed.Body)
			}
			bw.refused(bw.help(h[0], b1.ID, "dev-x"), 409, "already_helped")

			// Per helper: 2 helps a minute, 3 a day.
			bw.helped(h[0], b2.ID, "dev-0")
			bw.refused(bw.help(h[0], b3.ID, "dev-0"), 429, "rate_limited")
			minute()
			bw.helped(h[0], b3.ID, "dev-0")
			bw.refused(bw.help(h[0], b4.ID, "dev-0"), 429, "helper_daily_cap")

			// One device, a third account within a day: held; a fourth help
			// within a minute: refused.
			minute()
			bw.helped(h[1], b1.ID, "dev-shared")
			bw.helped(h[2], b1.ID, "dev-shared")
			held := bw.helped(h[3], b1.ID, "dev-shared")
			if held.Help.Status != "held" || held.Help.Slot != nil || held.Help.Amount != 0 || held.Bargain.CutsApplied != 3 {
				t.Fatalf("held help: %+v", held)
			}
			bw.refused(bw.help(h[4], b1.ID, "dev-shared"), 429, "rate_limited")

			// One device on a fourth bargain within a day: held.
			minute()
			bw.helped(h[5], b2.ID, "dev-roam")
			bw.helped(h[5], b3.ID, "dev-roam")
			bw.helped(h[6], b4.ID, "dev-roam")
			minute()
			roamer := bw.helped(h[6], b1.ID, "dev-roam")
			if roamer.Help.Status != "held" {
				t.Fatalf("the roaming device's fourth bargain: %+v", roamer)
			}

			// One address: the per-address rate.
			minute()
			bw.app.Bargains.Config.IPRate = 2
			bw.helped(h[7], b2.ID, "dev-7")
			bw.helped(h[7], b3.ID, "dev-7")
			bw.refused(bw.help(h[4], b2.ID, "dev-4"), 429, "rate_limited")
			bw.app.Bargains.Config.IPRate = 1000

			// Bought at the price reached: no more cuts.
			bw.bob.must(201, "POST", "/api/v1/bargains/"+b2.ID+"/order", map[string]any{"address_id": bw.bobAddr.ID}, nil)
			bw.refused(bw.help(h[4], b2.ID, "dev-4"), 409, "bargain_ordered")

			// Three accounts made within an hour, a day old, on one bargain:
			// the third is held.
			fresh := []*client{bw.buyer("fresh0"), bw.buyer("fresh1"), bw.buyer("fresh2")}
			bw.age(25 * time.Hour)
			bw.settle() // b1 to b4 expire
			b5 := bw.open(bw.buyer("carol"), act.ID)
			bw.helped(fresh[0], b5.ID, "dev-f0")
			bw.helped(fresh[1], b5.ID, "dev-f1")
			cluster := bw.helped(fresh[2], b5.ID, "dev-f2")
			if cluster.Help.Status != "held" || cluster.Bargain.CutsApplied != 2 {
				t.Fatalf("the cluster's third: %+v", cluster)
			}

			var queue struct {
				Items []bargain.Help `json:"items"`
			}
			bw.operator.must(200, "GET", "/admin/api/v1/bargain-helps?status=held", nil, &queue)
			reasons := map[string][]string{}
			for _, it := range queue.Items {
				reasons[it.ID] = it.Reasons
			}
			if len(queue.Items) != 3 || fmt.Sprint(reasons[held.Help.ID]) != "[device_many_accounts]" ||
				fmt.Sprint(reasons[roamer.Help.ID]) != "[device_many_bargains]" || fmt.Sprint(reasons[cluster.Help.ID]) != "[new_account_cluster]" {
				t.Fatalf("the held queue: %+v", queue.Items)
			}
			if n := len(bw.eventsOf(bargain.TopicHelpHeld)); n != 3 {
				t.Fatalf("%d bargain.help_held events", n)
			}

			// b1 has expired: its held helps can only be rejected.
			bw.refused(bw.operator.do("POST", "/admin/api/v1/bargain-helps/"+held.Help.ID+"/approve", nil), 409, "bargain_expired")
			var d helpDecisionJSON
			bw.operator.must(200, "POST", "/admin/api/v1/bargain-helps/"+held.Help.ID+"/reject", nil, &d)
			if d.Help.Status != bargain.Rejected || d.Help.Slot != nil || d.Help.DecidedBy == "" {
				t.Fatalf("rejected: %+v", d.Help)
			}
			bw.refused(bw.operator.do("POST", "/admin/api/v1/bargain-helps/"+held.Help.ID+"/approve", nil), 409, "bargain_help_not_held")
			bw.operator.must(200, "POST", "/admin/api/v1/bargain-helps/"+roamer.Help.ID+"/reject", nil, nil)
			helpedBefore := len(bw.eventsOf(bargain.TopicHelped))
			bw.operator.must(200, "POST", "/admin/api/v1/bargain-helps/"+cluster.Help.ID+"/approve", nil, &d)
			if d.Help.Status != bargain.Applied || *d.Help.Slot != 2 || d.Bargain.Cuts != 3 || d.Bargain.Price != 2599-money.Sum(d.Bargain.Schedule[:3]) {
				t.Fatalf("approved: %+v in %+v", d.Help, d.Bargain)
			}
			if n := len(bw.eventsOf(bargain.TopicHelped)); n != helpedBefore+1 {
				t.Fatalf("approval wrote %d bargain.helped", n-helpedBefore)
			}
			bw.operator.must(200, "GET", "/admin/api/v1/bargain-helps?status=held", nil, &queue)
			if len(queue.Items) != 0 {
				t.Fatalf("still held: %+v", queue.Items)
			}
			bw.operator.must(200, "GET", "/admin/api/v1/bargain-helps?bargain_id="+b5.ID+"&limit=2", nil, &queue)
			if len(queue.Items) != 2 {
				t.Fatalf("a page of b5's helps: %+v", queue.Items)
			}
		})
	}
}
