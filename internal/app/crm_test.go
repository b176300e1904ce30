package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
)

// TestCRMLayersOverTime follows one buyer through the layers on the fake
// clock: new on the day they register, active after visits on five days,
// silent after 31 days without a login; a paid order is picked up by the
// event consumer at once, and a segment preview finds the silent buyer.
func TestCRMLayersOverTime(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			a := apptest.New(t, engine, nil)
			svc := a.CRM()
			login := func(n int) string {
				t.Helper()
				_, b, _, err := a.Identity.Login(ctx, fmt.Sprintf("crmalice.%d", n))
				if err != nil {
					t.Fatal(err)
				}
				return b.ID
			}
			layer := func(buyer string) crm.Layer {
				t.Helper()
				if _, err := svc.Recompute(ctx); err != nil {
					t.Fatal(err)
				}
				p, err := svc.Profile(ctx, buyer)
				if err != nil {
					t.Fatal(err)
				}
				return crm.Layer(p.Layer)
			}

			alice := login(0)
			if l := layer(alice); l != crm.New {
				t.Fatalf("day 0: %s, want new", l)
			}
			for day := 1; day <= 4; day++ {
				a.Clock.Advance(24 * time.Hour)
				login(day)
			}
			// Day 4: five visit days (0-4), and past the 3 new days.
			if l := layer(alice); l != crm.Active {
				t.Fatalf("after five visit days: %s, want active", l)
			}
			a.Clock.Advance(31 * 24 * time.Hour)
			if l := layer(alice); l != crm.Silent {
				t.Fatalf("after 31 days away: %s, want silent", l)
			}
			moves, err := svc.Moves(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			var path []string
			for _, m := range moves {
				path = append(path, string(m.From)+">"+string(m.To))
			}
			if strings.Join(path, " ") != ">new new>active active>silent" {
				t.Fatalf("moves = %v", path)
			}
			if !moves[2].At.Equal(a.Clock.Now()) || !moves[0].At.Equal(apptest.Start) {
				t.Fatalf("move times = %v, %v", moves[0].At, moves[2].At)
			}

			// A segment on the silent layer and the city of the default
			// address, previewed before it is saved.
			if _, err := a.Identity.CreateAddress(ctx, alice, identity.AddressInput{Name: "张三", Phone: "13812345678",
				Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路88号"}); err != nil {
				t.Fatal(err)
			}
			layer(alice)
			pv, err := svc.Preview(ctx, `layer == "silent" && city == "杭州市" && days_since_login > 30`)
			if err != nil {
				t.Fatal(err)
			}
			if pv.Count != 1 || len(pv.Sample) != 1 || pv.Sample[0].BuyerID != alice {
				t.Fatalf("preview = %+v", pv)
			}
			if pv, _ = svc.Preview(ctx, `layer == "active"`); pv.Count != 0 {
				t.Fatalf("active preview = %+v", pv)
			}
			_, err = svc.CreateSegment(ctx, crm.NewSegment{Name: "bad", Expr: `layer == 3`})
			if e, ok := errs.As(err); !ok || e.Field != "expr" || !strings.Contains(e.Message, "column") {
				t.Fatalf("bad expression: %v", err)
			}
			seg, err := svc.CreateSegment(ctx, crm.NewSegment{Name: "hangzhou silent", Expr: `layer == "silent" && city == "杭州市"`})
			if err != nil {
				t.Fatal(err)
			}
			if seg.Members != 1 {
				t.Fatalf("members = %d, want 1", seg.Members)
			}

			// A paid order: the consumer recomputes alice alone, her layer
			// leaves silent only when she logs in (the order came through a
			// session she already had), and the segment loses her.
			sku := stockedSKU(t, a, "crm", 2599, 1999)
			addr, err := a.Identity.CreateAddress(ctx, alice, identity.AddressInput{Name: "张三", Phone: "13812345678",
				Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路88号"})
			if err != nil {
				t.Fatal(err)
			}
			login(99)
			o, err := a.Orders.Place(ctx, order.PlaceInput{BuyerID: alice, AddressID: addr.ID, Lines: []order.LineInput{{SKUID: sku, Qty: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Payments.Pay(ctx, alice, o.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.PaySandbox.PayOrder(payment.OutTradeNo(o.ID)); err != nil {
				t.Fatal(err)
			}
			settle(t, a)
			p, err := svc.Profile(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			if p.OrderCount != 1 || p.TotalSpent != int64(o.Total) || p.Layer != string(crm.Other) || p.RFM != (crm.RFM{R: 1, F: 1, M: 1}) || p.Cell != string(crm.Hibernating) {
				t.Fatalf("after a paid order: %+v", p)
			}
			if seg, _ = svc.Segment(ctx, seg.ID); seg.Members != 0 {
				t.Fatalf("segment members after the order = %d, want 0", seg.Members)
			}
		})
	}
}
