package campaign

import (
	"strings"
	"time"
)

// Calendar says which days are working days, for the review lead. The
// default is Monday to Friday; Holidays (dates, "2026-10-01") are days off
// and Workdays are weekend days worked (China's 调休 make-up days), both
// configured per deployment from the State Council's yearly notice.
type Calendar struct {
	Holidays map[string]bool
	Workdays map[string]bool
	Location *time.Location // the shop's day boundary; nil is Asia/Shanghai (UTC+8)
}

var shanghai = time.FixedZone("CST", 8*3600)

func (c Calendar) loc() *time.Location {
	if c.Location != nil {
		return c.Location
	}
	return shanghai
}

// Working reports whether day's date is a working day.
func (c Calendar) Working(day time.Time) bool {
	d := day.In(c.loc()).Format(time.DateOnly)
	if c.Workdays[d] {
		return true
	}
	if c.Holidays[d] {
		return false
	}
	wd := day.In(c.loc()).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// WorkingDaysBetween counts the whole working days strictly after the day
// of from and strictly before the day of to: a review filed on Monday for a
// Friday start has Tuesday, Wednesday and Thursday, 3 days.
func (c Calendar) WorkingDaysBetween(from, to time.Time) int {
	f := from.In(c.loc())
	t := to.In(c.loc())
	day := time.Date(f.Year(), f.Month(), f.Day(), 12, 0, 0, 0, c.loc()).AddDate(0, 0, 1)
	end := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.loc())
	n := 0
	for ; day.Before(end); day = day.AddDate(0, 0, 1) {
		if c.Working(day) {
			n++
		}
	}
	return n
}

// DefaultBannedWords are absolute and efficacy terms Chinese advertising
// may not use: the Advertising Law (广告法, 2021 revision) art. 9(3) bans
// "国家级", "最高级", "最佳" and the like, and art. 17 bans claims of
// disease prevention or cure for anything but medicines and medical devices
// (the market regulator's enforcement lists add the common variants).
var DefaultBannedWords = []string{
	"最", "第一", "国家级", "世界级", "顶级", "极品", "唯一", "首个", "首选", "独家", "万能", "100%", "绝对",
	"治疗", "根治", "治愈", "特效", "药到病除", "无副作用", "无毒副作用", "疗效", "防癌", "抗癌", "包治",
}

// BannedWords finds the banned words in texts, each once, in list order.
func BannedWords(list []string, texts ...string) []string {
	var found []string
	for _, w := range list {
		if w == "" {
			continue
		}
		for _, t := range texts {
			if strings.Contains(strings.ToLower(t), strings.ToLower(w)) {
				found = append(found, w)
				break
			}
		}
	}
	return found
}
