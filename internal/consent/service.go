package consent

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Service records and answers consents. It holds no state of its own:
// every answer is read from the store at the moment it is asked.
type Service struct {
	Store Store
	Clock clock.Clock // clock.Real{} when nil
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return clock.Real{}.Now()
	}
	return s.Clock.Now()
}

// PolicySet is a purpose's current version and its published history.
type PolicySet struct {
	Purpose  Purpose  `json:"purpose"`
	Current  int      `json:"current_version"`
	Versions []Policy `json:"versions"` // published versions, oldest first; version 1 is implicit
}

// PolicyVersions returns every purpose with its current version.
func (s *Service) PolicyVersions(ctx context.Context) ([]PolicySet, error) {
	ps, err := s.Store.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PolicySet, 0, len(Purposes))
	for _, p := range Purposes {
		set := PolicySet{Purpose: p, Current: 1, Versions: []Policy{}}
		for _, v := range ps {
			if v.Purpose == p {
				set.Versions = append(set.Versions, v)
				set.Current = max(set.Current, v.Version)
			}
		}
		out = append(out, set)
	}
	return out, nil
}

func (s *Service) current(ctx context.Context, p Purpose) (int, error) {
	sets, err := s.PolicyVersions(ctx)
	if err != nil {
		return 0, err
	}
	for _, set := range sets {
		if set.Purpose == p {
			return set.Current, nil
		}
	}
	return 0, ErrUnknownPurpose
}

// Publish publishes the next version of a purpose's policy. From then on
// earlier grants of that purpose no longer count until the buyer grants
// the new version (PIPL art. 14 para. 2: a changed purpose or way of
// processing needs consent again). The author is recorded; the HTTP
// layer's audit log records the act as well.
func (s *Service) Publish(ctx context.Context, p Purpose, summary, operatorID string) (*Policy, error) {
	var l errs.List
	if !p.Valid() {
		l.Add("purpose", ErrUnknownPurpose.Code, "%s", ErrUnknownPurpose.Message)
	}
	summary = strings.TrimSpace(summary)
	if n := utf8.RuneCountInString(summary); n == 0 || n > 500 {
		l.Add("summary", "invalid_summary", "summary says what changed, 1 to 500 characters")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	cur, err := s.current(ctx, p)
	if err != nil {
		return nil, err
	}
	pol := Policy{Purpose: p, Version: cur + 1, Summary: summary, PublishedAt: s.now(), PublishedBy: operatorID}
	if err := s.Store.PublishPolicy(ctx, pol); err != nil {
		return nil, err
	}
	return &pol, nil
}

// States returns the buyer's standing for every purpose.
func (s *Service) States(ctx context.Context, buyerID string) ([]State, error) {
	sets, err := s.PolicyVersions(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := s.Store.LatestConsents(ctx, buyerID)
	if err != nil {
		return nil, err
	}
	out := make([]State, 0, len(sets))
	for _, set := range sets {
		st := State{Purpose: set.Purpose, CurrentVersion: set.Current}
		for i := range latest {
			if latest[i].Purpose == set.Purpose {
				r := latest[i]
				st.LastAction = &r
				st.Granted = r.Action == Grant && r.PolicyVersion == set.Current
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Service) state(ctx context.Context, buyerID string, p Purpose) (State, error) {
	all, err := s.States(ctx, buyerID)
	if err != nil {
		return State{}, err
	}
	for _, st := range all {
		if st.Purpose == p {
			return st, nil
		}
	}
	return State{}, ErrUnknownPurpose
}

// Grant records the buyer's consent to version of the purpose's policy,
// which must be the current one (the text the buyer was shown). Granting
// what already counts changes nothing and appends nothing, so a repeated
// tap or a retried request leaves one record.
func (s *Service) Grant(ctx context.Context, buyerID string, p Purpose, version int) (State, error) {
	if !p.Valid() {
		return State{}, ErrUnknownPurpose
	}
	if version < 1 {
		return State{}, errs.Field("policy_version", "invalid_policy_version", "policy_version is the version shown to the buyer, 1 or more")
	}
	st, err := s.state(ctx, buyerID, p)
	if err != nil {
		return State{}, err
	}
	if version != st.CurrentVersion {
		return State{}, ErrPolicyOutdated
	}
	if st.Granted {
		return st, nil
	}
	return s.append(ctx, buyerID, p, Grant, version)
}

// Withdraw records the buyer's withdrawal; it counts from the next
// question anyone asks. Withdrawing what does not count (never granted,
// already withdrawn, or granted to an outdated version) appends nothing.
func (s *Service) Withdraw(ctx context.Context, buyerID string, p Purpose) (State, error) {
	if !p.Valid() {
		return State{}, ErrUnknownPurpose
	}
	st, err := s.state(ctx, buyerID, p)
	if err != nil {
		return State{}, err
	}
	if !st.Granted && (st.LastAction == nil || st.LastAction.Action == Withdraw) {
		return st, nil
	}
	return s.append(ctx, buyerID, p, Withdraw, st.CurrentVersion)
}

func (s *Service) append(ctx context.Context, buyerID string, p Purpose, a Action, version int) (State, error) {
	r := Record{ID: ids.New(), BuyerID: buyerID, Purpose: p, Action: a, PolicyVersion: version, At: s.now()}
	if err := s.Store.AppendConsent(ctx, r); err != nil {
		return State{}, err
	}
	return State{Purpose: p, Granted: a == Grant, CurrentVersion: version, LastAction: &r}, nil
}

// WithdrawAll withdraws every purpose that counts; erasure calls it so
// nothing keeps using an erased buyer's data.
func (s *Service) WithdrawAll(ctx context.Context, buyerID string) error {
	for _, p := range Purposes {
		if _, err := s.Withdraw(ctx, buyerID, p); err != nil {
			return err
		}
	}
	return nil
}

// Allowed reports whether the buyer's consent to the purpose counts now.
func (s *Service) Allowed(ctx context.Context, buyerID string, p Purpose) (bool, error) {
	set, err := s.AllowedSet(ctx, []string{buyerID}, p)
	if err != nil {
		return false, err
	}
	return set[buyerID], nil
}

// AllowedSet answers Allowed for many buyers in one query: the buyers whose
// consent counts are in the map with true; everyone else is absent (a
// campaign excludes them and counts them as excluded). At most MaxBulk
// buyers per call.
func (s *Service) AllowedSet(ctx context.Context, buyerIDs []string, p Purpose) (map[string]bool, error) {
	if !p.Valid() {
		return nil, ErrUnknownPurpose
	}
	if len(buyerIDs) > MaxBulk {
		return nil, ErrTooManyBuyers
	}
	out := make(map[string]bool, len(buyerIDs))
	if len(buyerIDs) == 0 {
		return out, nil
	}
	ok, err := s.Store.ConsentedBuyers(ctx, buyerIDs, p)
	if err != nil {
		return nil, err
	}
	for _, id := range ok {
		out[id] = true
	}
	return out, nil
}

// PersonalisedListings reports whether listings and search may be tailored
// to the buyer. siyu's listings personalise nothing today (the same query
// gives everyone the same page); a listing that starts to must ask this
// first and fall back to the non-personalised order when it is false.
func (s *Service) PersonalisedListings(ctx context.Context, buyerID string) (bool, error) {
	return s.Allowed(ctx, buyerID, PersonalisedListings)
}

// History lists a buyer's records, newest first.
func (s *Service) History(ctx context.Context, f HistoryFilter) (HistoryPage, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	return s.Store.ConsentHistory(ctx, f)
}
