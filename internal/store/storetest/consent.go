package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("consent", testConsent) }

func testConsent(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	svc := &consent.Service{Store: s, Clock: clk}
	alice, bob, carol := ids.New(), ids.New(), ids.New()
	step := func() { clk.Advance(time.Second) }

	allowed := func(who string, p consent.Purpose) bool {
		t.Helper()
		ok, err := svc.Allowed(ctx, who, p)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	t.Run("nothing is consented until granted", func(t *testing.T) {
		for _, p := range consent.Purposes {
			if allowed(alice, p) {
				t.Fatalf("%s allowed before any grant", p)
			}
		}
	})

	t.Run("grant, withdraw, grant: the latest record counts at once", func(t *testing.T) {
		for _, who := range []string{alice, bob, carol} {
			if _, err := svc.Grant(ctx, who, consent.PersonalisedMarketing, 1); err != nil {
				t.Fatal(err)
			}
			step()
		}
		if !allowed(alice, consent.PersonalisedMarketing) || allowed(alice, consent.SubscriptionMessages) {
			t.Fatal("alice: marketing should count, messages not")
		}
		if _, err := svc.Withdraw(ctx, bob, consent.PersonalisedMarketing); err != nil {
			t.Fatal(err)
		}
		if allowed(bob, consent.PersonalisedMarketing) {
			t.Fatal("bob's withdrawal did not take effect at once")
		}
		step()
		got, err := svc.AllowedSet(ctx, []string{alice, bob, carol, ids.New(), "not-an-id"}, consent.PersonalisedMarketing)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[alice] || !got[carol] {
			t.Fatalf("allowed set = %v, want alice and carol", got)
		}
		step()
		if _, err := svc.Grant(ctx, bob, consent.PersonalisedMarketing, 1); err != nil {
			t.Fatal(err)
		}
		if !allowed(bob, consent.PersonalisedMarketing) {
			t.Fatal("bob's new grant does not count")
		}
	})

	t.Run("a campaign-sized question is one statement", func(t *testing.T) {
		many := make([]string, 0, 5000)
		for range 4999 {
			many = append(many, ids.New())
		}
		many = append(many, carol)
		got, err := svc.AllowedSet(ctx, many, consent.PersonalisedMarketing)
		if err != nil || len(got) != 1 || !got[carol] {
			t.Fatalf("allowed set of 5000 = %d, %v", len(got), err)
		}
		if _, err := svc.AllowedSet(ctx, make([]string, consent.MaxBulk+1), consent.PersonalisedMarketing); !errs.Is(err, "too_many_buyers") {
			t.Fatalf("over the bulk limit: %v", err)
		}
		if _, err := svc.AllowedSet(ctx, []string{alice}, "selling_data"); !errs.Is(err, "unknown_purpose") {
			t.Fatalf("unknown purpose: %v", err)
		}
	})

	t.Run("repeats append nothing; the history is kept whole, newest first", func(t *testing.T) {
		step()
		if _, err := svc.Grant(ctx, bob, consent.PersonalisedMarketing, 1); err != nil {
			t.Fatal(err)
		}
		step()
		if _, err := svc.Withdraw(ctx, carol, consent.SensitiveData); err != nil { // never granted
			t.Fatal(err)
		}
		var got []consent.Record
		f := consent.HistoryFilter{BuyerID: bob, Limit: 2}
		for {
			page, err := svc.History(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page.Records...)
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		acts := []consent.Action{}
		for _, r := range got {
			if r.BuyerID != bob || r.Purpose != consent.PersonalisedMarketing || r.PolicyVersion != 1 {
				t.Fatalf("record %+v", r)
			}
			acts = append(acts, r.Action)
		}
		if !slices.Equal(acts, []consent.Action{consent.Grant, consent.Withdraw, consent.Grant}) {
			t.Fatalf("bob's history = %v, want grant, withdraw, grant newest first", acts)
		}
		if page, _ := svc.History(ctx, consent.HistoryFilter{BuyerID: carol}); len(page.Records) != 1 {
			t.Fatalf("carol has %d records, want 1 (withdrawing nothing appends nothing)", len(page.Records))
		}
		if _, err := svc.History(ctx, consent.HistoryFilter{BuyerID: bob, Cursor: "bm90LWEtY3Vyc29y"}); !errs.Is(err, "invalid_cursor") {
			t.Fatalf("forged cursor: %v", err)
		}
	})

	t.Run("a new policy version voids earlier grants until re-granted", func(t *testing.T) {
		step()
		pol, err := svc.Publish(ctx, consent.PersonalisedMarketing, "we now use browsing history", ids.New())
		if err != nil || pol.Version != 2 {
			t.Fatalf("publish: %+v, %v", pol, err)
		}
		if allowed(alice, consent.PersonalisedMarketing) {
			t.Fatal("a grant of version 1 still counts after version 2")
		}
		if got, _ := svc.AllowedSet(ctx, []string{alice, bob, carol}, consent.PersonalisedMarketing); len(got) != 0 {
			t.Fatalf("allowed set after a new version = %v, want none", got)
		}
		if _, err := svc.Grant(ctx, alice, consent.PersonalisedMarketing, 1); !errs.Is(err, "policy_outdated") {
			t.Fatalf("grant of the old version: %v", err)
		}
		step()
		if _, err := svc.Grant(ctx, alice, consent.PersonalisedMarketing, 2); err != nil {
			t.Fatal(err)
		}
		if !allowed(alice, consent.PersonalisedMarketing) {
			t.Fatal("alice's grant of version 2 does not count")
		}
		// Another purpose's version is untouched.
		step()
		if _, err := svc.Grant(ctx, alice, consent.SubscriptionMessages, 1); err != nil {
			t.Fatal(err)
		}
		sets, err := svc.PolicyVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range sets {
			want := 1
			if set.Purpose == consent.PersonalisedMarketing {
				want = 2
			}
			if set.Current != want {
				t.Fatalf("%s current = %d, want %d", set.Purpose, set.Current, want)
			}
		}
		// The same version twice: the second publisher loses.
		if err := s.PublishPolicy(ctx, consent.Policy{Purpose: consent.PersonalisedMarketing, Version: 2, Summary: "x",
			PublishedAt: clk.Now()}); !errs.Is(err, "policy_conflict") {
			t.Fatalf("duplicate version: %v", err)
		}
	})

	t.Run("states show an outdated grant as not granted", func(t *testing.T) {
		states, err := svc.States(ctx, carol)
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != len(consent.Purposes) {
			t.Fatalf("%d states", len(states))
		}
		for _, st := range states {
			if st.Purpose == consent.PersonalisedMarketing {
				if st.Granted || st.LastAction == nil || st.LastAction.PolicyVersion != 1 || st.CurrentVersion != 2 {
					t.Fatalf("carol's marketing state %+v", st)
				}
			}
		}
	})

	t.Run("erasure withdraws everything", func(t *testing.T) {
		step()
		if err := svc.WithdrawAll(ctx, alice); err != nil {
			t.Fatal(err)
		}
		for _, p := range consent.Purposes {
			if allowed(alice, p) {
				t.Fatalf("%s still allowed", p)
			}
		}
	})
}
