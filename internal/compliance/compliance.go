// Package compliance holds the structural guards every fission activity
// (group buy, bargain, and the plays that come after them) passes before it
// goes live. They are DOMAIN.md's compliance lines for social commerce,
// from the platform's operating rules against induced sharing (诱导分享)
// and the anti-pyramid-selling rules, built in rather than left to
// configuration: an activity that fails one cannot be published.
//
// Lint reads Facts an activity states about itself and returns every
// check's result, passed or not, so an operator sees the whole list, not
// just the first refusal.
package compliance

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// The limits. DOMAIN.md, "Limits the sources set for every fission play":
// the reward stays below 30% of the regular price, propagation is at most
// 3 levels deep, an activity runs at most 7 days.
const (
	MaxRewardRate money.BP = 3000
	MaxDepth               = 3
	MaxDuration            = 7 * 24 * time.Hour
	// MinRules is the shortest rules text taken as rules at all: a word or
	// two is a title, not the "full rules" every activity must show.
	MinRules = 20
)

// Codes of the checks, stable for clients.
const (
	CodeReward      = "reward_limit"
	CodeDepth       = "chain_depth"
	CodeDuration    = "duration"
	CodeRules       = "rules_text"
	CodeShareNotice = "share_notice"
	CodeSchedule    = "schedule_disclosed"
)

// noticePhrases are what a share card's notice must say one of: that
// joining may cost the friend money (DOMAIN.md: "A share button says that
// the activity may cost the friend money").
var noticePhrases = []string{"可能需要付费", "需要付费", "需付费", "may cost"}

// Facts is what an activity states about itself for the checks.
type Facts struct {
	// RegularPrice is the regular price of the cheapest goods the activity
	// sells (the sale price outside the activity): the reward is measured
	// against it.
	RegularPrice money.Fen
	// Reward is the most one participant can get for friends' actions
	// beyond the price everyone pays: a team leader's benefit over the team
	// price, a helper's reward. The activity's price itself is not a
	// reward: everyone joining under the same conditions pays it.
	Reward money.Fen
	// MaxDepth is the longest share chain the activity lets grow.
	MaxDepth int
	// StartsAt and EndsAt bound the activity.
	StartsAt, EndsAt time.Time
	// Rules is the full rules text shown to every participant.
	Rules string
	// ShareNotice is what the activity's share card says beside the share
	// button.
	ShareNotice string
	// Schedule, for a bargain, is its cut schedule as shown before the
	// first share; nil for an activity without one.
	Schedule *Schedule
	// Presale, for a presale, is what its own checks read (presale.go);
	// nil for any other activity.
	Presale *Presale
}

// Schedule is a bargain's cut schedule as the activity discloses it.
type Schedule struct {
	Shown bool        // shown to the initiator and every helper before they act
	From  money.Fen   // the price bargaining starts from
	Floor money.Fen   // where it ends
	Cuts  []money.Fen // each helper's cut, in order
}

// Check is one rule's result.
type Check struct {
	Code    string `json:"code"`
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
}

// Report is every check's result.
type Report struct {
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
}

// Lint runs every check on f.
func Lint(f Facts) Report {
	var r Report
	add := func(code string, ok bool, format string, args ...any) {
		r.Checks = append(r.Checks, Check{Code: code, Passed: ok, Message: fmt.Sprintf(format, args...)})
	}

	limit := f.RegularPrice.Rate(MaxRewardRate)
	switch {
	case f.Reward <= 0:
		add(CodeReward, true, "no reward beyond the activity's price")
	case f.RegularPrice <= 0:
		add(CodeReward, false, "a reward of %s needs a regular price to be measured against", f.Reward)
	case f.Reward > limit:
		add(CodeReward, false, "the reward of %s is more than 30%% of the regular price %s (at most %s)", f.Reward, f.RegularPrice, limit)
	default:
		add(CodeReward, true, "the reward of %s is within 30%% of the regular price %s", f.Reward, f.RegularPrice)
	}

	if f.MaxDepth >= 1 && f.MaxDepth <= MaxDepth {
		add(CodeDepth, true, "share chains stop at %d levels", f.MaxDepth)
	} else {
		add(CodeDepth, false, "share chains may be 1 to %d levels deep, not %d", MaxDepth, f.MaxDepth)
	}

	switch d := f.EndsAt.Sub(f.StartsAt); {
	case f.StartsAt.IsZero() || f.EndsAt.IsZero() || d <= 0:
		add(CodeDuration, false, "the activity needs a start and a later end")
	case d > MaxDuration:
		add(CodeDuration, false, "the activity runs %s, more than the 7 days allowed", d.Round(time.Minute))
	default:
		add(CodeDuration, true, "the activity runs %s", d.Round(time.Minute))
	}

	if n := utf8.RuneCountInString(strings.TrimSpace(f.Rules)); n >= MinRules {
		add(CodeRules, true, "the rules text is %d characters", n)
	} else {
		add(CodeRules, false, "the full rules text is missing (%d characters; at least %d)", n, MinRules)
	}

	if mentionsCost(f.ShareNotice) {
		add(CodeShareNotice, true, "the share card says joining may cost the friend money")
	} else {
		add(CodeShareNotice, false, "the share card must say that joining may cost the friend money (e.g. %q)", noticePhrases[0])
	}

	if s := f.Schedule; s != nil {
		var sum money.Fen
		ok := s.Shown && len(s.Cuts) > 0
		for _, c := range s.Cuts {
			sum += c
			ok = ok && c >= 1
		}
		switch {
		case !s.Shown:
			add(CodeSchedule, false, "the cut schedule must be shown before the first share")
		case !ok || sum != s.From-s.Floor:
			add(CodeSchedule, false, "the cut schedule must be %d cuts of at least 1 fen adding up to %s", len(s.Cuts), s.From-s.Floor)
		default:
			add(CodeSchedule, true, "%d cuts, shown before the first share, take %s down to %s", len(s.Cuts), s.From, s.Floor)
		}
	}

	if f.Presale != nil {
		lintPresale(f, add)
	}

	r.Passed = true
	for _, c := range r.Checks {
		r.Passed = r.Passed && c.Passed
	}
	return r
}

func mentionsCost(notice string) bool {
	n := strings.ToLower(notice)
	for _, p := range noticePhrases {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// Err is nil if every check passed, else a refusal naming each failed
// check as a field "checks.<code>" with the code "compliance_<code>".
func (r Report) Err() error {
	var l errs.List
	for _, c := range r.Checks {
		if !c.Passed {
			l = append(l, &errs.Error{Kind: errs.Invalid, Code: "compliance_" + c.Code, Field: "checks." + c.Code, Message: c.Message})
		}
	}
	return l.Err()
}
