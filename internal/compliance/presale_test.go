package compliance_test

import (
	"slices"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/money"
)

func goodPresale() compliance.Facts {
	f := good()
	f.Reward, f.EndsAt = 0, f.StartsAt.Add(compliance.MaxPresaleDuration)
	f.Presale = &compliance.Presale{Items: []compliance.PresaleItem{
		{SKUID: "a", RegularPrice: 11900, Steps: []money.Fen{9900, 10900, 11900}, Deposit: 1980},
		{SKUID: "b", RegularPrice: 5000, Steps: []money.Fen{4000}},
	}}
	return f
}

func TestLintPresale(t *testing.T) {
	cases := []struct {
		name   string
		change func(*compliance.Facts)
		failed []string
	}{
		{"all pass at the limits: 3 days, a deposit of 20%", func(*compliance.Facts) {}, nil},
		{"3 days and a minute", func(f *compliance.Facts) { f.EndsAt = f.EndsAt.Add(time.Minute) }, []string{compliance.CodePresaleDuration}},
		{"8 days fails both windows", func(f *compliance.Facts) { f.EndsAt = f.StartsAt.Add(8 * 24 * time.Hour) },
			[]string{compliance.CodeDuration, compliance.CodePresaleDuration}},
		{"a deposit one fen over 20%", func(f *compliance.Facts) { f.Presale.Items[0].Deposit = 1981 }, []string{compliance.CodeDeposit}},
		{"a step down", func(f *compliance.Facts) { f.Presale.Items[0].Steps = []money.Fen{10900, 9900} }, []string{compliance.CodePriceSteps}},
		{"a step above the regular price", func(f *compliance.Facts) { f.Presale.Items[1].Steps = []money.Fen{4000, 5001} },
			[]string{compliance.CodePriceSteps}},
		{"nothing sold", func(f *compliance.Facts) { f.Presale.Items = nil }, []string{compliance.CodePriceSteps}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := goodPresale()
			c.change(&f)
			r := compliance.Lint(f)
			var failed []string
			for _, ch := range r.Checks {
				if !ch.Passed {
					failed = append(failed, ch.Code)
				}
			}
			slices.Sort(failed)
			want := slices.Clone(c.failed)
			slices.Sort(want)
			if !slices.Equal(failed, want) || r.Passed != (len(want) == 0) {
				t.Fatalf("failed %v, want %v: %+v", failed, want, r.Checks)
			}
		})
	}
	// A fission activity without a presale gets none of these checks.
	for _, ch := range compliance.Lint(good()).Checks {
		if ch.Code == compliance.CodePresaleDuration || ch.Code == compliance.CodeDeposit {
			t.Fatalf("a non-presale activity got presale check %s", ch.Code)
		}
	}
}
