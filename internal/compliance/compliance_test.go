package compliance_test

import (
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

var start = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func good() compliance.Facts {
	return compliance.Facts{
		RegularPrice: 10000, Reward: 3000, MaxDepth: 3,
		StartsAt: start, EndsAt: start.Add(7 * 24 * time.Hour),
		Rules:       "每队 3 人成团，24 小时内未成团全额退款。Teams of 3; unfilled teams are refunded in full.",
		ShareNotice: "好友参与活动可能需要付费",
	}
}

func TestLint(t *testing.T) {
	cases := []struct {
		name   string
		change func(*compliance.Facts)
		failed []string
	}{
		{"all pass at the limits", func(*compliance.Facts) {}, nil},
		{"no reward", func(f *compliance.Facts) { f.Reward = 0 }, nil},
		{"reward one fen over 30%", func(f *compliance.Facts) { f.Reward = 3001 }, []string{compliance.CodeReward}},
		{"reward without a price", func(f *compliance.Facts) { f.RegularPrice = 0 }, []string{compliance.CodeReward}},
		{"depth 4", func(f *compliance.Facts) { f.MaxDepth = 4 }, []string{compliance.CodeDepth}},
		{"depth 0", func(f *compliance.Facts) { f.MaxDepth = 0 }, []string{compliance.CodeDepth}},
		{"eight days", func(f *compliance.Facts) { f.EndsAt = f.StartsAt.Add(8 * 24 * time.Hour) }, []string{compliance.CodeDuration}},
		{"ends before it starts", func(f *compliance.Facts) { f.EndsAt = f.StartsAt.Add(-time.Hour) }, []string{compliance.CodeDuration}},
		{"no rules", func(f *compliance.Facts) { f.Rules = "   " }, []string{compliance.CodeRules}},
		{"rules too short", func(f *compliance.Facts) { f.Rules = "拼团" }, []string{compliance.CodeRules}},
		{"share card without the notice", func(f *compliance.Facts) { f.ShareNotice = "快来拼团！" }, []string{compliance.CodeShareNotice}},
		{"English notice", func(f *compliance.Facts) { f.ShareNotice = "Joining May Cost your friend money" }, nil},
		{"schedule shown and exact", func(f *compliance.Facts) {
			f.Schedule = &compliance.Schedule{Shown: true, From: 1000, Floor: 0, Cuts: []money.Fen{600, 300, 100}}
		}, nil},
		{"schedule hidden", func(f *compliance.Facts) {
			f.Schedule = &compliance.Schedule{Shown: false, From: 1000, Floor: 0, Cuts: []money.Fen{600, 300, 100}}
		}, []string{compliance.CodeSchedule}},
		{"schedule short of the floor", func(f *compliance.Facts) {
			f.Schedule = &compliance.Schedule{Shown: true, From: 1000, Floor: 0, Cuts: []money.Fen{600, 300, 99}}
		}, []string{compliance.CodeSchedule}},
		{"schedule with a zero cut", func(f *compliance.Facts) {
			f.Schedule = &compliance.Schedule{Shown: true, From: 2, Floor: 0, Cuts: []money.Fen{2, 0}}
		}, []string{compliance.CodeSchedule}},
		{"everything wrong", func(f *compliance.Facts) {
			*f = compliance.Facts{Reward: 1, Schedule: &compliance.Schedule{}}
		}, []string{compliance.CodeReward, compliance.CodeDepth, compliance.CodeDuration, compliance.CodeRules, compliance.CodeShareNotice, compliance.CodeSchedule}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := good()
			c.change(&f)
			r := compliance.Lint(f)
			var failed []string
			for _, ch := range r.Checks {
				if ch.Message == "" {
					t.Errorf("check %s has no message", ch.Code)
				}
				if !ch.Passed {
					failed = append(failed, ch.Code)
				}
			}
			if len(failed) != len(c.failed) {
				t.Fatalf("failed %v, want %v", failed, c.failed)
			}
			for i := range failed {
				if failed[i] != c.failed[i] {
					t.Fatalf("failed %v, want %v", failed, c.failed)
				}
			}
			if r.Passed != (len(failed) == 0) {
				t.Errorf("Passed = %v with %d failures", r.Passed, len(failed))
			}
			err := r.Err()
			if (err == nil) != r.Passed {
				t.Fatalf("Err() = %v, Passed %v", err, r.Passed)
			}
			if err != nil {
				fields := errs.Fields(err)
				if len(fields) != len(failed) || fields[0].Code != "compliance_"+failed[0] || fields[0].Field != "checks."+failed[0] {
					t.Errorf("Err() fields %v, want one per failed check", fields)
				}
			}
		})
	}
}
