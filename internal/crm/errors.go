package crm

import (
	"fmt"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// The crm errors a client sees.
var (
	ErrSegmentNotFound = errs.E(errs.NotFound, "segment_not_found", "no such segment")
	ErrProfileNotFound = errs.E(errs.NotFound, "crm_profile_not_found", "no profile for this buyer yet")
	ErrSegmentName     = errs.E(errs.Conflict, "segment_name_taken", "a segment or tag rule has this name already")
	ErrTagRule         = errs.Field("tag", "tag_is_rule_made", "this tag is made by a rule; change the rule instead")
)

// errsList collects field errors with their ranges.
type errsList struct{ l errs.List }

func (e *errsList) add(field, code, msg string) { e.l.Add(field, code, "%s", msg) }

func (e *errsList) rng(field string, v, lo, hi int) {
	if v < lo || v > hi {
		e.add(field, "out_of_range", fmt.Sprintf("must be between %d and %d", lo, hi))
	}
}

func (e *errsList) err() error { return e.l.Err() }
