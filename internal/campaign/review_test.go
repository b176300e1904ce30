package campaign

import (
	"testing"
	"time"
)

func TestWorkingDaysBetween(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 2, 0, 0, 0, time.UTC) } // 10:00 Shanghai; 23rd is a Monday
	tests := []struct {
		name     string
		cal      Calendar
		from, to time.Time
		want     int
	}{
		{"Monday to Friday", Calendar{}, day(23), day(27), 3},
		{"Monday to Thursday", Calendar{}, day(23), day(26), 2},
		{"Friday to Thursday spans a weekend", Calendar{}, day(27), time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC), 3},
		{"a holiday is no working day", Calendar{Holidays: map[string]bool{"2026-11-25": true}}, day(23), day(27), 2},
		{"a make-up Saturday is one", Calendar{Workdays: map[string]bool{"2026-11-28": true}}, day(27), time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), 2},
		{"the day boundary is Shanghai's", Calendar{}, time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC), day(27), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.WorkingDaysBetween(tt.from, tt.to); got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBannedWords(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"冬季回归礼", nil},
		{"全网最低价，国家级特效", []string{"最", "国家级", "特效"}},
		{"无副作用 100% 根治", []string{"根治", "无副作用", "100%"}},
	}
	for _, tt := range tests {
		got := BannedWords(DefaultBannedWords, tt.text)
		if len(got) != len(tt.want) {
			t.Fatalf("%q: got %v, want %v", tt.text, got, tt.want)
		}
		for _, w := range tt.want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Fatalf("%q: got %v, want %v", tt.text, got, tt.want)
			}
		}
	}
}

func TestInHoldoutIsStableAndNearTheShare(t *testing.T) {
	n := 0
	for i := range 10000 {
		b := time.Unix(int64(i), 0).String()
		if InHoldout("c", b, 1000) != InHoldout("c", b, 1000) {
			t.Fatal("not stable")
		}
		if InHoldout("c", b, 1000) {
			n++
		}
	}
	if n < 850 || n > 1150 {
		t.Fatalf("%d of 10000 held out at 10%%", n)
	}
}
