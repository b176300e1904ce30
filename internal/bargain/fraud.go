package bargain

import (
	"slices"
	"time"
)

// Reasons a help is held for an operator. They are not shown to the
// helper: telling an abuser which pattern gave them away teaches them to
// avoid it.
const (
	// ReasonDeviceBargains: the device helped Config.DeviceBargains
	// distinct bargains within the watch window; one person's daily cap
	// allows fewer, so several accounts share it.
	ReasonDeviceBargains = "device_many_bargains"
	// ReasonDeviceHelpers: the device served Config.DeviceHelpers helper
	// accounts within the watch window.
	ReasonDeviceHelpers = "device_many_accounts"
	// ReasonNewAccountCluster: Config.ClusterSize helpers of one bargain
	// whose accounts are new and were made within Config.ClusterSpan of
	// each other: accounts made in a batch to help.
	ReasonNewAccountCluster = "new_account_cluster"
)

// chinaTime is the day the daily cap counts in: China Standard Time, UTC+8
// all year (no daylight saving), where the shops and their buyers are.
var chinaTime = time.FixedZone("CST", 8*60*60)

// dayStart is the start of t's day in China Standard Time.
func dayStart(t time.Time) time.Time {
	y, m, d := t.In(chinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, chinaTime).UTC()
}

// refusal is the rule, if any, that refuses a new help outright: nothing is
// recorded. The per-helper numbers are exact (the store serialises a
// helper's helps); the device and IP rates are counted as committed, so
// helps racing from one device may pass the rate by the number racing.
func (c Config) refusal(f HelpFacts) error {
	switch {
	case f.HelperToday >= c.DailyCap:
		return ErrDailyCap
	case f.HelperRecent >= c.HelperRate, f.DeviceRecent >= c.DeviceRate, f.IPRecent >= c.IPRate:
		return ErrRateLimited
	}
	return nil
}

// holdReasons are the suspicious patterns a new help by h shows: any of
// them holds the help instead of applying its cut.
func (c Config) holdReasons(f HelpFacts, h *Help, now time.Time) []string {
	reasons := []string{}
	if f.DeviceBargains+1 >= c.DeviceBargains {
		reasons = append(reasons, ReasonDeviceBargains)
	}
	if f.DeviceHelpers+1 >= c.DeviceHelpers {
		reasons = append(reasons, ReasonDeviceHelpers)
	}
	if c.inNewAccountCluster(f.Helps, h, now) {
		reasons = append(reasons, ReasonNewAccountCluster)
	}
	return reasons
}

// inNewAccountCluster reports whether h's helper, with the bargain's earlier
// helpers, makes ClusterSize new accounts (younger than NewAccount) made
// within one span of ClusterSpan that includes h's.
func (c Config) inNewAccountCluster(helps []Help, h *Help, now time.Time) bool {
	if now.Sub(h.HelperSince) >= c.NewAccount {
		return false
	}
	var since []time.Time
	for _, o := range helps {
		if o.HelperID != h.HelperID && now.Sub(o.HelperSince) < c.NewAccount {
			since = append(since, o.HelperSince)
		}
	}
	since = append(since, h.HelperSince)
	slices.SortFunc(since, func(a, b time.Time) int { return a.Compare(b) })
	// Every span that holds h's time starts at one of the times at most
	// ClusterSpan before it: try each.
	for i, start := range since {
		if start.After(h.HelperSince) {
			break
		}
		if h.HelperSince.Sub(start) > c.ClusterSpan {
			continue
		}
		n := 0
		for _, t := range since[i:] {
			if t.Sub(start) <= c.ClusterSpan {
				n++
			}
		}
		if n >= c.ClusterSize {
			return true
		}
	}
	return false
}
