package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/datarights"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("datarights", testDataRights) }

func testDataRights(t *testing.T, open Opener) {
	w := newOrderWorld(t, open)
	s, ctx, clk := w.s, context.Background(), w.clock
	cons := &consent.Service{Store: s, Clock: clk}
	svc := &datarights.Service{Store: s, Consent: cons, Clock: clk, Read: datarights.Readers{
		Identity: s, Orders: s, Coupons: s, Shares: s, Affiliates: s}}
	idsvc := &identity.Service{Store: s, Clock: clk}

	buyer, err := s.UpsertBuyer(ctx, "openid-erase-me", "unionid-erase-me", "sk", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.UpsertBuyer(ctx, "openid-keep-me", "", "sk", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	in := identity.AddressInput{Name: "李小红", Phone: "13800138000", Province: "广东省", City: "深圳市", District: "南山区", Detail: "科技园路 1 号"}
	for _, b := range []string{buyer.ID, other.ID} {
		if _, err := idsvc.CreateAddress(ctx, b, in); err != nil {
			t.Fatal(err)
		}
	}
	sku := w.product(t, "Oolong", skuFixture{Spec: "50g", List: 3000, Sale: 2500, Stock: 10})[0]
	mine := w.place(t, buyer.ID, order.LineInput{SKUID: sku.ID, Qty: 1})
	theirs := w.place(t, other.ID, order.LineInput{SKUID: sku.ID, Qty: 1})
	sess := &identity.Session{ID: newID(), TokenHash: "hash-" + buyer.ID, Kind: identity.KindBuyer, SubjectID: buyer.ID,
		CreatedAt: clk.Now(), ExpiresAt: clk.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := cons.Grant(ctx, buyer.ID, consent.PersonalisedMarketing, 1); err != nil {
		t.Fatal(err)
	}

	t.Run("export: the buyer's own data, once an hour", func(t *testing.T) {
		x, err := svc.Export(ctx, buyer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if x.Profile.ID != buyer.ID || len(x.Addresses) != 1 || x.Addresses[0].Phone != "13800138000" ||
			len(x.Orders) != 1 || x.Orders[0].ID != mine.ID || len(x.Consents) != 1 || x.Promoter != nil {
			t.Fatalf("export = %+v", x)
		}
		clk.Advance(59 * time.Minute)
		if _, err := svc.Export(ctx, buyer.ID); errs.KindOf(err) != errs.TooMany {
			t.Fatalf("second export within the hour: %v", err)
		}
		clk.Advance(time.Minute)
		if _, err := svc.Export(ctx, buyer.ID); err != nil {
			t.Fatalf("export after the hour: %v", err)
		}
	})

	t.Run("erasure", func(t *testing.T) {
		clk.Advance(time.Minute)
		e, err := svc.Erase(ctx, buyer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.Repeated || e.Addresses != 1 || e.Orders != 1 || e.Sessions != 1 || e.Consents != 1 {
			t.Fatalf("erasure = %+v", e)
		}
		// Identifiers gone; a login with the same openid is a new buyer.
		again, err := s.UpsertBuyer(ctx, "openid-erase-me", "unionid-erase-me", "sk2", clk.Now())
		if err != nil || again.ID == buyer.ID {
			t.Fatalf("login after erasure: %+v, %v; want a new buyer", again, err)
		}
		b, err := s.Buyer(ctx, buyer.ID)
		if err != nil || b.UnionID != "" || !strings.HasPrefix(b.OpenID, "erased:") || strings.Contains(b.OpenID, "openid-erase-me") {
			t.Fatalf("erased buyer = %+v, %v", b, err)
		}
		if as, _ := s.Addresses(ctx, buyer.ID); len(as) != 0 {
			t.Fatalf("addresses left: %d", len(as))
		}
		got, _ := s.SessionByHash(ctx, sess.TokenHash)
		if got == nil || got.RevokedAt == nil {
			t.Fatalf("session not revoked: %+v", got)
		}
		// The order keeps its amounts; its ship-to keeps only the area.
		o, err := s.Order(ctx, mine.ID)
		if err != nil {
			t.Fatal(err)
		}
		if o.Total != mine.Total || len(o.Lines) != len(mine.Lines) || o.ShipTo.Name != datarights.ErasedName ||
			o.ShipTo.Phone != "" || o.ShipTo.Detail != "" || o.ShipTo.City != "深圳市" {
			t.Fatalf("erased order = %+v", o)
		}
		// Nobody else's data moved.
		if o, _ := s.Order(ctx, theirs.ID); o.ShipTo.Phone != "13800138000" {
			t.Fatalf("another buyer's order changed: %+v", o.ShipTo)
		}
		if as, _ := s.Addresses(ctx, other.ID); len(as) != 1 {
			t.Fatal("another buyer's address went")
		}
		if ok, _ := cons.Allowed(ctx, buyer.ID, consent.PersonalisedMarketing); ok {
			t.Fatal("consent survives erasure")
		}
		// Every step is in the audit log, the buyer as the actor.
		page, err := s.AuditEntries(ctx, audit.Filter{ActorID: buyer.ID, Limit: 50})
		if err != nil || len(page.Entries) != 9 || page.Entries[0].Action != "erasure: completed" {
			t.Fatalf("audit: %+v, %v", page.Entries, err)
		}

		// Idempotent: a repeat does nothing and answers the first.
		clk.Advance(time.Minute)
		e2, err := svc.Erase(ctx, buyer.ID)
		if err != nil || !e2.Repeated || !e2.At.Equal(e.At) || e2.Orders != 1 {
			t.Fatalf("repeat: %+v, %v", e2, err)
		}
		if page, _ := s.AuditEntries(ctx, audit.Filter{ActorID: buyer.ID, Limit: 50}); len(page.Entries) != 9 {
			t.Fatalf("a repeat wrote %d audit entries", len(page.Entries)-9)
		}
	})

	t.Run("two erasures at once: one does the work", func(t *testing.T) {
		b, err := s.UpsertBuyer(ctx, "openid-race", "", "sk", clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := idsvc.CreateAddress(ctx, b.ID, in); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		res := make([]*datarights.Erasure, 4)
		failed := make([]error, 4)
		for i := range res {
			wg.Add(1)
			go func() { defer wg.Done(); res[i], failed[i] = svc.Erase(ctx, b.ID) }()
		}
		wg.Wait()
		first := 0
		for i, e := range res {
			if failed[i] != nil {
				t.Fatalf("erasure %d: %v", i, failed[i])
			}
			if !e.Repeated {
				first++
			}
			if e.Addresses != 1 {
				t.Fatalf("erasure %d: %+v", i, e)
			}
		}
		if first != 1 {
			t.Fatalf("%d erasures did the work, want 1", first)
		}
		if page, _ := s.AuditEntries(ctx, audit.Filter{ActorID: b.ID, Limit: 50}); len(page.Entries) != 9 {
			t.Fatalf("%d audit entries, want 9", len(page.Entries))
		}
	})

	t.Run("an unknown buyer", func(t *testing.T) {
		if _, err := s.EraseBuyer(ctx, datarights.Erasure{BuyerID: newID(), Token: "x", At: clk.Now()},
			func(datarights.Erasure) []audit.Entry { return nil }); !errs.Is(err, "buyer_not_found") {
			t.Fatalf("unknown buyer: %v", err)
		}
	})
}

func newID() string { return ids.New() }
