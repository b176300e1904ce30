// Package consent owns a buyer's consents under PIPL: one per purpose,
// each given to a numbered version of the shop's policy for that purpose,
// withdrawable at any time, and kept as an append-only history (a grant or
// a withdrawal is a new record; nothing is updated or deleted). Other
// capabilities ask it before they use a buyer's data for a purpose:
// campaigns call AllowedSet before they reach anyone, and a listing that
// ever personalises calls Allowed(PersonalisedListings) first.
//
// The current state is always read from the store, never cached, so a
// withdrawal takes effect for the very next question (PIPL art. 15: a
// withdrawal must be as easy as the consent, and effective at once).
//
// See docs/privacy.md for the rules and their sources.
package consent

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// Purpose is what a buyer's data may be used for. Each one is consented to
// on its own (PIPL art. 14: consent is specific; art. 29: a separate
// consent for sensitive data; art. 23: a separate consent to share with
// another party).
type Purpose string

const (
	// PersonalisedMarketing is the use of a buyer's profile (segments, RFM,
	// layers) to pick them for a campaign. Withdrawing it is the opt-out
	// every campaign honours (PIPL art. 24 para. 2).
	PersonalisedMarketing Purpose = "personalised_marketing"
	// SubscriptionMessages is sending the buyer subscription messages
	// (WeChat's own rule also asks the user per template).
	SubscriptionMessages Purpose = "subscription_messages"
	// SensitiveData is processing sensitive personal data (PIPL art. 28-29:
	// e.g. precise location, minors' data): a separate consent.
	SensitiveData Purpose = "sensitive_data"
	// ShareWithPromoter lets the promoter who brought the buyer see them in
	// their downline (PIPL art. 23: giving data to another handler).
	ShareWithPromoter Purpose = "share_with_promoter"
	// PersonalisedListings is the buyer's choice for listings and search:
	// without it they are not ordered or filtered by the buyer's profile
	// (PIPL art. 24 para. 2: an option not targeting personal
	// characteristics). Off until the buyer turns it on.
	PersonalisedListings Purpose = "personalised_listings"
)

// Purposes lists every purpose, in the order they are shown.
var Purposes = []Purpose{PersonalisedMarketing, SubscriptionMessages, SensitiveData, ShareWithPromoter, PersonalisedListings}

// Valid reports whether p is a known purpose.
func (p Purpose) Valid() bool {
	for _, q := range Purposes {
		if p == q {
			return true
		}
	}
	return false
}

// Action is what a record did.
type Action string

const (
	Grant    Action = "grant"
	Withdraw Action = "withdraw"
)

// Record is one entry of a buyer's consent history; records are only ever
// appended.
type Record struct {
	ID            string    `json:"id"`
	BuyerID       string    `json:"buyer_id"`
	Purpose       Purpose   `json:"purpose"`
	Action        Action    `json:"action"`
	PolicyVersion int       `json:"policy_version"` // the version consented to (for a withdrawal: current at the time)
	At            time.Time `json:"at"`
}

// Policy is one published version of the shop's policy for a purpose.
// Version 1 of every purpose exists implicitly from the start (the policy
// the shop launched with); operators publish 2, 3, ...
type Policy struct {
	Purpose     Purpose   `json:"purpose"`
	Version     int       `json:"version"`
	Summary     string    `json:"summary"`      // what changed, as shown to buyers
	PublishedAt time.Time `json:"published_at"` // zero for the implicit version 1
	PublishedBy string    `json:"published_by,omitempty"`
}

// State is a buyer's standing for one purpose now.
type State struct {
	Purpose        Purpose `json:"purpose"`
	Granted        bool    `json:"granted"`         // the buyer's consent counts now
	CurrentVersion int     `json:"current_version"` // the policy version a grant must name
	// LastAction is the buyer's latest record for the purpose, if any. A
	// grant of an older version is shown with Granted false: the policy
	// changed and the buyer has to consent again.
	LastAction *Record `json:"last_action,omitempty"`
}

// HistoryFilter selects a buyer's records, newest first.
type HistoryFilter struct {
	BuyerID string
	Cursor  string
	Limit   int
}

// HistoryPage is one page of records.
type HistoryPage struct {
	Records    []Record `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Page sizes of the history.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Store keeps the records and the policy versions. It has no update or
// delete: the history is the evidence of consent (PIPL art. 14 puts the
// burden of proving consent on the handler).
type Store interface {
	// AppendConsent writes one record.
	AppendConsent(ctx context.Context, r Record) error
	// ConsentHistory lists a buyer's records, newest first.
	ConsentHistory(ctx context.Context, f HistoryFilter) (HistoryPage, error)
	// LatestConsents returns the buyer's latest record per purpose.
	LatestConsents(ctx context.Context, buyerID string) ([]Record, error)
	// ConsentedBuyers returns those of buyerIDs whose latest record for the
	// purpose is a grant of its current policy version, in one query.
	// Unknown and malformed ids are simply not in the answer.
	ConsentedBuyers(ctx context.Context, buyerIDs []string, purpose Purpose) ([]string, error)
	// PublishPolicy stores version p.Version of p.Purpose; ErrPolicyConflict
	// if that version exists (another operator published first).
	PublishPolicy(ctx context.Context, p Policy) error
	// Policies lists every published version, by purpose then version.
	Policies(ctx context.Context) ([]Policy, error)
}

var (
	ErrUnknownPurpose = errs.Field("purpose", "unknown_purpose", "purpose must be one of personalised_marketing, subscription_messages, sensitive_data, share_with_promoter, personalised_listings")
	// ErrPolicyOutdated refuses a grant of a version that is not the
	// current one: a consent counts only for the text the buyer was shown.
	ErrPolicyOutdated = &errs.Error{Kind: errs.Conflict, Code: "policy_outdated", Field: "policy_version",
		Message: "this is not the current policy version for the purpose; show the buyer the current one"}
	ErrPolicyConflict = errs.E(errs.Conflict, "policy_conflict", "another version of this policy was published at the same time; read the versions and retry")
	ErrBadCursor      = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")
	// ErrTooManyBuyers refuses an AllowedSet call over MaxBulk: a campaign
	// pages its audience.
	ErrTooManyBuyers = errs.Field("buyer_ids", "too_many_buyers", "ask about at most %d buyers at once", MaxBulk)
)

// MaxBulk is the most buyers one AllowedSet call asks about: the ids travel
// as one parameter (a JSON array on SQLite, an array on PostgreSQL), and the
// bound keeps one statement's work and answer small.
const MaxBulk = 10000
