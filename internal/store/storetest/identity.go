package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("identity", testIdentity) }

func testIdentity(t *testing.T, open Opener) {
	t.Run("upsert buyer keeps one buyer per openid", func(t *testing.T) { testUpsertBuyer(t, open(t)) })
	t.Run("concurrent first logins make one buyer", func(t *testing.T) { testUpsertBuyerRace(t, open(t)) })
	t.Run("sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("operators", func(t *testing.T) { testOperators(t, open(t)) })
	t.Run("addresses", func(t *testing.T) { testAddresses(t, open(t)) })
	t.Run("address defaults and limit", func(t *testing.T) { testAddressDefaults(t, open(t)) })
}

var identityT0 = time.Date(2025, 3, 1, 8, 0, 0, 123456000, time.UTC)

func testUpsertBuyer(t *testing.T, s Engine) {
	ctx := context.Background()
	first, err := s.UpsertBuyer(ctx, "o-alice", "u-alice", "key-1", identityT0)
	if err != nil {
		t.Fatal(err)
	}
	if !ids.Valid(first.ID) || first.OpenID != "o-alice" || first.UnionID != "u-alice" ||
		!first.CreatedAt.Equal(identityT0) || !first.LastLoginAt.Equal(identityT0) {
		t.Fatalf("first upsert = %+v", first)
	}
	later := identityT0.Add(time.Hour)
	// A later login without a unionid (the app unbound, or WeChat left it
	// out) must not erase the one we know.
	again, err := s.UpsertBuyer(ctx, "o-alice", "", "key-2", later)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.UnionID != "u-alice" || !again.CreatedAt.Equal(identityT0) || !again.LastLoginAt.Equal(later) {
		t.Fatalf("second upsert = %+v, want id %s, unionid kept, created_at kept, last login moved", again, first.ID)
	}
	if got, err := s.Buyer(ctx, first.ID); err != nil || got.OpenID != "o-alice" || got.UnionID != "u-alice" {
		t.Fatalf("Buyer(%s) = %+v, %v", first.ID, got, err)
	}
	if _, err := s.Buyer(ctx, ids.New()); !errors.Is(err, identity.ErrBuyerNotFound) {
		t.Fatalf("an unknown buyer: %v", err)
	}
	other, err := s.UpsertBuyer(ctx, "o-bob", "", "key-3", later)
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == first.ID || other.UnionID != "" {
		t.Fatalf("another openid got %+v", other)
	}
}

func testUpsertBuyerRace(t *testing.T, s Engine) {
	ctx := context.Background()
	const n = 20
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			b, err := s.UpsertBuyer(ctx, "o-racer", "", fmt.Sprintf("key-%d", i), identityT0)
			if err == nil {
				got[i] = b.ID
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("upsert %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("upsert %d made buyer %s, upsert 0 made %s: one openid, two buyers", i, got[i], got[0])
		}
	}
}

func testSessions(t *testing.T, s Engine) {
	ctx := context.Background()
	b, err := s.UpsertBuyer(ctx, "o-session", "", "k", identityT0)
	if err != nil {
		t.Fatal(err)
	}
	sess := &identity.Session{ID: ids.New(), TokenHash: "hash-1", Kind: identity.KindBuyer, SubjectID: b.ID,
		CreatedAt: identityT0, ExpiresAt: identityT0.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	op := &identity.Session{ID: ids.New(), TokenHash: "hash-2", Kind: identity.KindOperator, SubjectID: ids.New(),
		Role: identity.Finance, CreatedAt: identityT0, ExpiresAt: identityT0.Add(-time.Minute)}
	if err := s.CreateSession(ctx, op); err != nil {
		t.Fatal(err)
	}

	got, err := s.SessionByHash(ctx, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sess.ID || got.Kind != identity.KindBuyer || got.SubjectID != b.ID || got.Role != "" ||
		!got.CreatedAt.Equal(identityT0) || !got.ExpiresAt.Equal(sess.ExpiresAt) || got.RevokedAt != nil {
		t.Fatalf("SessionByHash = %+v, want %+v", got, sess)
	}
	if got, err := s.SessionByHash(ctx, "hash-2"); err != nil || got.Role != identity.Finance || got.Kind != identity.KindOperator {
		t.Fatalf("operator session = %+v, %v", got, err)
	}
	if _, err := s.SessionByHash(ctx, "no-such-hash"); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("unknown hash: err = %v, want ErrUnauthenticated", err)
	}

	revokedAt := identityT0.Add(10 * time.Minute)
	if err := s.RevokeSession(ctx, sess.ID, revokedAt); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, sess.ID, revokedAt.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, ids.New(), revokedAt); err != nil {
		t.Fatalf("revoking an unknown session: %v, want nil", err)
	}
	got, err = s.SessionByHash(ctx, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) {
		t.Fatalf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, revokedAt)
	}

	if n, err := s.PurgeSessions(ctx, identityT0); err != nil || n != 1 {
		t.Fatalf("PurgeSessions = %d, %v; want the one expired session", n, err)
	}
	if _, err := s.SessionByHash(ctx, "hash-2"); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("purged session: err = %v", err)
	}
	if _, err := s.SessionByHash(ctx, "hash-1"); err != nil {
		t.Fatalf("live session purged: %v", err)
	}
}

func testOperators(t *testing.T, s Engine) {
	ctx := context.Background()
	o := &identity.OperatorAccount{ID: ids.New(), Email: "owner@shop.example", Role: identity.Owner,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: identityT0}
	if err := s.CreateOperator(ctx, o); err != nil {
		t.Fatal(err)
	}
	for name, get := range map[string]func() (*identity.OperatorAccount, error){
		"by email": func() (*identity.OperatorAccount, error) { return s.OperatorByEmail(ctx, "owner@shop.example") },
		"by id":    func() (*identity.OperatorAccount, error) { return s.Operator(ctx, o.ID) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if *got != *o {
			t.Fatalf("%s = %+v, want %+v", name, got, o)
		}
	}
	dup := &identity.OperatorAccount{ID: ids.New(), Email: "owner@shop.example", Role: identity.Finance,
		PasswordHash: "x", CreatedAt: identityT0}
	if err := s.CreateOperator(ctx, dup); !errors.Is(err, identity.ErrEmailTaken) {
		t.Fatalf("duplicate email: err = %v, want ErrEmailTaken", err)
	}
	if _, err := s.OperatorByEmail(ctx, "nobody@shop.example"); !errors.Is(err, identity.ErrOperatorNotFound) {
		t.Fatalf("unknown email: err = %v", err)
	}
	for _, id := range []string{ids.New(), "not-an-id"} {
		if _, err := s.Operator(ctx, id); !errors.Is(err, identity.ErrOperatorNotFound) {
			t.Fatalf("Operator(%q): err = %v, want ErrOperatorNotFound", id, err)
		}
	}
}

func newTestAddress(buyerID, name string, at time.Time) *identity.Address {
	return &identity.Address{ID: ids.New(), BuyerID: buyerID, Name: name, Phone: "13812345678",
		Province: "北京市", City: "北京市", District: "朝阳区", Detail: "建国路88号华贸中心1号楼2单元301",
		CreatedAt: at, UpdatedAt: at}
}

func testAddresses(t *testing.T, s Engine) {
	ctx := context.Background()
	alice, err := s.UpsertBuyer(ctx, "o-alice", "", "k", identityT0)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.UpsertBuyer(ctx, "o-bob", "", "k", identityT0)
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAddress(alice.ID, "张三", identityT0)
	if err := s.CreateAddress(ctx, a, identity.MaxAddresses); err != nil {
		t.Fatal(err)
	}
	got, err := s.Address(ctx, alice.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *a
	want.IsDefault = true // the first address is the default
	if *got != want {
		t.Fatalf("Address = %+v\nwant      %+v", got, want)
	}
	if list, err := s.Addresses(ctx, alice.ID); err != nil || len(list) != 1 || list[0] != want {
		t.Fatalf("Addresses = %+v, %v", list, err)
	}

	// Another buyer's address, or an id that is not one, is not found, for
	// every operation: a buyer cannot learn that an id exists.
	for _, id := range []string{a.ID, ids.New(), "not-an-id"} {
		buyer := bob.ID
		if id != a.ID {
			buyer = alice.ID
		}
		if _, err := s.Address(ctx, buyer, id); !errors.Is(err, identity.ErrAddressNotFound) {
			t.Fatalf("Address(%s): err = %v, want ErrAddressNotFound", id, err)
		}
		if _, err := s.UpdateAddress(ctx, buyer, id, func(*identity.Address) error { return nil }); !errors.Is(err, identity.ErrAddressNotFound) {
			t.Fatalf("UpdateAddress(%s): err = %v, want ErrAddressNotFound", id, err)
		}
		if err := s.DeleteAddress(ctx, buyer, id); !errors.Is(err, identity.ErrAddressNotFound) {
			t.Fatalf("DeleteAddress(%s): err = %v, want ErrAddressNotFound", id, err)
		}
	}
	if list, err := s.Addresses(ctx, bob.ID); err != nil || len(list) != 0 || list == nil {
		t.Fatalf("bob's addresses = %#v, %v; want an empty list", list, err)
	}
	if err := s.CreateAddress(ctx, newTestAddress(ids.New(), "无名", identityT0), identity.MaxAddresses); !errors.Is(err, identity.ErrBuyerNotFound) {
		t.Fatalf("address of an unknown buyer: err = %v, want ErrBuyerNotFound", err)
	}

	later := identityT0.Add(time.Hour)
	updated, err := s.UpdateAddress(ctx, alice.ID, a.ID, func(x *identity.Address) error {
		x.Name, x.Phone, x.Detail, x.UpdatedAt = "李四", "13900001111", "幸福小区3栋", later
		x.BuyerID = bob.ID // must not move the address to another buyer
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.Address(ctx, alice.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *updated || got.Name != "李四" || got.Phone != "13900001111" || got.Detail != "幸福小区3栋" ||
		!got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(identityT0) || got.BuyerID != alice.ID {
		t.Fatalf("after update = %+v (update returned %+v)", got, updated)
	}
	sentinel := errors.New("refused")
	if _, err := s.UpdateAddress(ctx, alice.ID, a.ID, func(x *identity.Address) error {
		x.Name = "王五"
		return sentinel
	}); !errors.Is(err, sentinel) {
		t.Fatalf("fn's error: got %v", err)
	}
	if got, _ := s.Address(ctx, alice.ID, a.ID); got.Name != "李四" {
		t.Fatalf("a refused update was saved: %+v", got)
	}

	if err := s.DeleteAddress(ctx, alice.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Address(ctx, alice.ID, a.ID); !errors.Is(err, identity.ErrAddressNotFound) {
		t.Fatalf("deleted address: err = %v", err)
	}
	if err := s.DeleteAddress(ctx, alice.ID, a.ID); !errors.Is(err, identity.ErrAddressNotFound) {
		t.Fatalf("deleting twice: err = %v", err)
	}
}

func testAddressDefaults(t *testing.T, s Engine) {
	ctx := context.Background()
	b, err := s.UpsertBuyer(ctx, "o-many", "", "k", identityT0)
	if err != nil {
		t.Fatal(err)
	}
	var made []*identity.Address
	for i := range 3 {
		a := newTestAddress(b.ID, fmt.Sprintf("收件人%d", i), identityT0.Add(time.Duration(i)*time.Minute))
		if err := s.CreateAddress(ctx, a, identity.MaxAddresses); err != nil {
			t.Fatal(err)
		}
		made = append(made, a)
	}
	defaults := func() []string {
		t.Helper()
		list, err := s.Addresses(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range list {
			if a.IsDefault {
				out = append(out, a.ID)
			}
		}
		if len(list) > 0 && len(out) > 0 && list[0].ID != out[0] {
			t.Fatalf("the default is not listed first: %+v", list)
		}
		return out
	}
	if d := defaults(); len(d) != 1 || d[0] != made[0].ID {
		t.Fatalf("defaults = %v, want only the first address %s", d, made[0].ID)
	}
	if list, _ := s.Addresses(ctx, b.ID); list[1].ID != made[2].ID || list[2].ID != made[1].ID {
		t.Fatalf("non-defaults are not newest first: %+v", list)
	}

	// A new default replaces the old one, on create and on update.
	d := newTestAddress(b.ID, "新默认", identityT0.Add(time.Hour))
	d.IsDefault = true
	if err := s.CreateAddress(ctx, d, identity.MaxAddresses); err != nil {
		t.Fatal(err)
	}
	if got := defaults(); len(got) != 1 || got[0] != d.ID {
		t.Fatalf("defaults = %v, want only %s", got, d.ID)
	}
	if _, err := s.UpdateAddress(ctx, b.ID, made[1].ID, func(a *identity.Address) error { a.IsDefault = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := defaults(); len(got) != 1 || got[0] != made[1].ID {
		t.Fatalf("defaults = %v, want only %s", got, made[1].ID)
	}
	// Deleting the default leaves none: the buyer picks the next one.
	if err := s.DeleteAddress(ctx, b.ID, made[1].ID); err != nil {
		t.Fatal(err)
	}
	if got := defaults(); len(got) != 0 {
		t.Fatalf("defaults after deleting the default = %v, want none", got)
	}

	// The limit counts what the buyer has now.
	const limit = 5
	for range limit - 3 {
		if err := s.CreateAddress(ctx, newTestAddress(b.ID, "x", identityT0), limit); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAddress(ctx, newTestAddress(b.ID, "x", identityT0), limit); !errors.Is(err, identity.ErrAddressLimit) {
		t.Fatalf("address over the limit: err = %v, want ErrAddressLimit", err)
	}
	if list, _ := s.Addresses(ctx, b.ID); len(list) != limit {
		t.Fatalf("%d addresses stored, want %d", len(list), limit)
	}
}
