package rush

import (
	"math"
	"regexp"
	"testing"
)

func TestMixShares(t *testing.T) {
	m := Mix{Buyers: 20000, Retry: 0.05, Second: 0.10, Seed: 7, IDPrefix: "rushTEST0001d"}
	const n = 200_000
	idOK := regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	kinds := map[Kind]int{}
	ids := map[string]int{} // request id -> the request that minted it
	buyers := map[int]bool{}
	for i := range n {
		a := m.Ask(i)
		if a != m.Ask(i) {
			t.Fatalf("request %d planned twice differently", i)
		}
		kinds[a.Kind]++
		buyers[a.Buyer] = true
		if !idOK.MatchString(a.RequestID) {
			t.Fatalf("request id %q is not 8-64 of [A-Za-z0-9_-]", a.RequestID)
		}
		switch a.Kind {
		case Retry:
			orig := m.Ask(a.Of)
			if orig.Kind == Retry || a.Of >= i || orig.Buyer != a.Buyer || orig.RequestID != a.RequestID {
				t.Fatalf("retry %d (%+v) does not resend its original %d (%+v)", i, a, a.Of, orig)
			}
		case Second:
			if prev := m.Ask(a.Of); a.Of >= i || prev.Buyer != a.Buyer || prev.RequestID == a.RequestID {
				t.Fatalf("second request %d (%+v) is not a new request of %d's buyer (%+v)", i, a, a.Of, prev)
			}
		}
		if a.Kind != Retry {
			if j, dup := ids[a.RequestID]; dup {
				t.Fatalf("requests %d and %d share id %q", j, i, a.RequestID)
			}
			ids[a.RequestID] = i
		}
	}
	for k, want := range map[Kind]float64{Retry: 0.05, Second: 0.10, Fresh: 0.85} {
		if got := float64(kinds[k]) / n; math.Abs(got-want) > 0.01 {
			t.Errorf("%s: %.3f of requests, want %.2f", k, got, want)
		}
	}
	if len(buyers) != 20000 {
		t.Errorf("%d distinct buyers, want all 20,000", len(buyers))
	}
}

func TestMixNoRetriesNoSeconds(t *testing.T) {
	m := Mix{Buyers: 10, IDPrefix: "rushTEST0001x"}
	for i := range 100 {
		if a := m.Ask(i); a.Kind != Fresh || a.Buyer != i%10 {
			t.Fatalf("request %d: %+v", i, a)
		}
	}
}
