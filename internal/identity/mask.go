package identity

import (
	"strings"
	"unicode"
)

// Masking is what an operator sees of a buyer's personal data (DOMAIN.md,
// Compliance lines: PIPL). The rules only ever hide more than the floor the
// domain sets, never less.

// Masked returns the address as an operator may see it: name, phone and
// detail masked; the province, city and district stay, as they identify an
// area, not a household, and the console needs them to route and report.
func (a Address) Masked() Address {
	a.Name = MaskName(a.Name)
	a.Phone = MaskPhone(a.Phone)
	a.Detail = MaskDetail(a.Detail)
	return a
}

// MaskPhone shows at most the first 3 and last 2 characters of a phone
// number (13812345678 -> 138******78), and only when at least 4 stay hidden;
// a shorter value is hidden whole, since 3+2 of it would be most of it.
func MaskPhone(phone string) string {
	r := []rune(phone)
	if len(r) < 9 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-5) + string(r[len(r)-2:])
}

// compoundSurnames are the common two-character family names. Keeping the
// whole surname is what people expect of a masked name (欧阳**, not 欧***);
// the given name is hidden either way.
var compoundSurnames = map[string]bool{
	"欧阳": true, "司马": true, "上官": true, "诸葛": true, "东方": true,
	"皇甫": true, "尉迟": true, "公孙": true, "慕容": true, "长孙": true,
	"宇文": true, "司徒": true, "夏侯": true, "轩辕": true, "令狐": true,
	"端木": true, "独孤": true, "南宫": true, "西门": true, "百里": true,
	"呼延": true, "申屠": true, "太史": true, "澹台": true, "万俟": true,
}

// MaskName keeps the surname (the first character, or a two-character
// compound surname when a given name follows it) and replaces every other
// character with *: 张三 -> 张*, 欧阳娜娜 -> 欧阳**, a single character -> *.
// At least one character is always hidden.
func MaskName(name string) string {
	r := []rune(name)
	keep := 1
	switch {
	case len(r) <= 1:
		keep = 0
	case len(r) >= 3 && compoundSurnames[string(r[:2])]:
		keep = 2
	}
	return string(r[:keep]) + strings.Repeat("*", len(r)-keep)
}

// detailKeep is the most of an address detail a masked one shows: enough to
// read the street or compound, not the building or room.
const detailKeep = 6

// MaskDetail hides the house number of an address detail. It keeps the
// characters before the first number (an Arabic digit, full-width or not,
// or a Chinese numeral, as in 三号楼), but at most 6 of them and at most
// half of the detail, and replaces the rest with a fixed "****", so the
// length of what is hidden does not show either:
// 建国路88号华贸中心1号楼 -> 建国路****. A detail with no number still loses
// its second half, which is where the house is.
func MaskDetail(detail string) string {
	r := []rune(detail)
	if len(r) == 0 {
		return ""
	}
	keep := min(detailKeep, len(r)/2)
	for i, c := range r[:keep] {
		if isNumeral(c) {
			keep = i
			break
		}
	}
	return string(r[:keep]) + "****"
}

func isNumeral(c rune) bool {
	return unicode.IsDigit(c) || strings.ContainsRune("〇零一二三四五六七八九十百千两壹贰叁肆伍陆柒捌玖拾", c)
}
