package bargain

import (
	"slices"
	"testing"
	"time"
)

func TestRefusal(t *testing.T) {
	c := DefaultConfig
	cases := []struct {
		name string
		f    HelpFacts
		want error
	}{
		{"fresh", HelpFacts{}, nil},
		{"two today", HelpFacts{HelperToday: 2}, nil},
		{"three today", HelpFacts{HelperToday: 3}, ErrDailyCap},
		{"helper rate", HelpFacts{HelperRecent: 2}, ErrRateLimited},
		{"device rate", HelpFacts{DeviceRecent: 3}, ErrRateLimited},
		{"ip rate", HelpFacts{IPRecent: 30}, ErrRateLimited},
		{"ip under its rate", HelpFacts{IPRecent: 29}, nil},
	}
	for _, tc := range cases {
		if got := c.refusal(tc.f); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHoldReasons(t *testing.T) {
	c := DefaultConfig
	now := time.Date(2031, 3, 10, 12, 0, 0, 0, time.UTC)
	old := now.Add(-30 * 24 * time.Hour)
	me := func(since time.Time) *Help { return &Help{HelperID: "me", HelperSince: since} }
	helps := func(since ...time.Time) []Help {
		var out []Help
		for i, s := range since {
			out = append(out, Help{HelperID: string(rune('a' + i)), HelperSince: s})
		}
		return out
	}
	newer := now.Add(-2 * 24 * time.Hour)
	cases := []struct {
		name string
		f    HelpFacts
		h    *Help
		want []string
	}{
		{"an old account", HelpFacts{Helps: helps(old, old)}, me(old), []string{}},
		{"device on its 3rd bargain", HelpFacts{DeviceBargains: 2}, me(old), []string{}},
		{"device on its 4th bargain", HelpFacts{DeviceBargains: 3}, me(old), []string{ReasonDeviceBargains}},
		{"device's 2nd account", HelpFacts{DeviceHelpers: 1}, me(old), []string{}},
		{"device's 3rd account", HelpFacts{DeviceHelpers: 2}, me(old), []string{ReasonDeviceHelpers}},
		{"two new accounts", HelpFacts{Helps: helps(newer)}, me(newer.Add(time.Minute)), []string{}},
		{"three new accounts within an hour", HelpFacts{Helps: helps(newer, newer.Add(40*time.Minute))},
			me(newer.Add(time.Hour)), []string{ReasonNewAccountCluster}},
		{"three new accounts over 61 minutes", HelpFacts{Helps: helps(newer, newer.Add(40*time.Minute))},
			me(newer.Add(61 * time.Minute)), []string{}},
		{"me in the middle", HelpFacts{Helps: helps(newer.Add(-30*time.Minute), newer.Add(30*time.Minute))},
			me(newer), []string{ReasonNewAccountCluster}},
		{"the others are old", HelpFacts{Helps: helps(now.Add(-8*24*time.Hour), now.Add(-8*24*time.Hour))},
			me(now.Add(-8*24*time.Hour + time.Minute)), []string{}},
		{"everything", HelpFacts{DeviceBargains: 9, DeviceHelpers: 9, Helps: helps(newer, newer)}, me(newer),
			[]string{ReasonDeviceBargains, ReasonDeviceHelpers, ReasonNewAccountCluster}},
	}
	for _, tc := range cases {
		if got := c.holdReasons(tc.f, tc.h, now); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDayStart(t *testing.T) {
	// 23:59 UTC is 07:59 the next day in Beijing: that day began at 16:00 UTC.
	at := time.Date(2031, 3, 10, 23, 59, 0, 0, time.UTC)
	if got, want := dayStart(at), time.Date(2031, 3, 10, 16, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("dayStart = %s, want %s", got, want)
	}
}
