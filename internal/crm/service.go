package crm

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Service runs the crm rules.
type Service struct {
	Store Store
	Clock clock.Clock
}

// pageSize is how many profiles a complete pass reads at a time.
const pageSize = 5000

// Rules returns the operator's layer and RFM rules (the defaults until
// saved).
func (s *Service) Rules(ctx context.Context) (Rules, error) { return s.Store.CRMRules(ctx) }

// SaveRules checks and stores new rules; they apply from the next
// recompute (the HTTP face runs one right away).
func (s *Service) SaveRules(ctx context.Context, r Rules) (Rules, error) {
	if err := r.Check(); err != nil {
		return Rules{}, err
	}
	return r, s.Store.SaveCRMRules(ctx, r)
}

// Result is what a complete recompute did.
type Result struct {
	Moves    int           `json:"moves"`
	Profiles int           `json:"profiles"`
	Segments int           `json:"segments"`
	Took     time.Duration `json:"-"`
}

// Recompute computes every profile, layer and RFM score (in SQL), then
// every rule tag and segment (in Go, with the compiled programs). Rule
// tags are made first, so segments can test them; a rule tag sees the
// other tags as they stood before this pass.
func (s *Service) Recompute(ctx context.Context) (Result, error) {
	start := time.Now()
	now := s.Clock.Now()
	r, err := s.Store.CRMRules(ctx)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if res.Moves, err = s.Store.RecomputeCRM(ctx, r, now, ""); err != nil {
		return res, err
	}
	segs, err := s.Store.Segments(ctx)
	if err != nil {
		return res, err
	}
	// Tags first, then plain segments.
	var tags, plain []Segment
	for _, sg := range segs {
		if sg.Tag {
			tags = append(tags, sg)
		} else {
			plain = append(plain, sg)
		}
	}
	for _, group := range [][]Segment{tags, plain} {
		if _, err := s.evaluate(ctx, group, now); err != nil {
			return res, err
		}
	}
	counts, err := s.Store.CRMLayerCounts(ctx)
	if err != nil {
		return res, err
	}
	for _, n := range counts {
		res.Profiles += n
	}
	res.Segments = len(segs)
	res.Took = time.Since(start)
	return res, nil
}

// evaluate runs every segment of group over every profile and replaces
// their memberships. It returns the number of profiles read.
func (s *Service) evaluate(ctx context.Context, group []Segment, now time.Time) (int, error) {
	if len(group) == 0 {
		return 0, nil
	}
	progs := make([]*Program, len(group))
	for i, sg := range group {
		p, err := Compile(sg.Expr)
		if err != nil {
			return 0, err // stored expressions were checked; a failure here is a bug
		}
		progs[i] = p
	}
	members := make([][]string, len(group))
	var m vm.VM
	n, err := s.each(ctx, now, func(p *Profile) {
		for i, pg := range progs {
			if pg.Match(&m, p) {
				members[i] = append(members[i], p.BuyerID)
			}
		}
	})
	if err != nil {
		return n, err
	}
	for i := range group {
		if err := s.Store.ReplaceSegmentMembers(ctx, &group[i], members[i]); err != nil {
			return n, err
		}
	}
	return n, nil
}

// each calls fn with every profile, a page at a time.
func (s *Service) each(ctx context.Context, now time.Time, fn func(*Profile)) (int, error) {
	after, n := "", 0
	for {
		rows, err := s.Store.CRMProfiles(ctx, after, pageSize)
		if err != nil {
			return n, err
		}
		for i := range rows {
			p := rows[i].Profile(now)
			fn(&p)
		}
		n += len(rows)
		if len(rows) < pageSize {
			return n, nil
		}
		after = rows[len(rows)-1].BuyerID
	}
}

// RecomputeBuyer brings one buyer's profile, layer, scores, rule tags and
// memberships up to date: what an order event changes. The buyer's scores
// are ranked against everyone else's stored profile; the others' scores
// move at the next complete recompute.
func (s *Service) RecomputeBuyer(ctx context.Context, buyerID string) error {
	if !ids.Valid(buyerID) {
		return nil
	}
	now := s.Clock.Now()
	r, err := s.Store.CRMRules(ctx)
	if err != nil {
		return err
	}
	if _, err := s.Store.RecomputeCRM(ctx, r, now, buyerID); err != nil {
		return err
	}
	segs, err := s.Store.Segments(ctx)
	if err != nil {
		return err
	}
	var tags, plain []Segment
	for _, sg := range segs {
		if sg.Tag {
			tags = append(tags, sg)
		} else {
			plain = append(plain, sg)
		}
	}
	var m vm.VM
	for _, group := range [][]Segment{tags, plain} {
		if len(group) == 0 {
			continue
		}
		row, err := s.Store.CRMProfile(ctx, buyerID)
		if errs.KindOf(err) == errs.NotFound {
			return nil // no such buyer
		}
		if err != nil {
			return err
		}
		p := row.Profile(now)
		in := make([]bool, len(group))
		for i, sg := range group {
			prog, err := Compile(sg.Expr)
			if err != nil {
				return err
			}
			in[i] = prog.Match(&m, &p)
		}
		if err := s.Store.SetBuyerSegments(ctx, buyerID, group, in); err != nil {
			return err
		}
	}
	return nil
}

// Profile is a buyer's profile as expressions see it now.
func (s *Service) Profile(ctx context.Context, buyerID string) (*Profile, error) {
	if !ids.Valid(buyerID) {
		return nil, ErrProfileNotFound
	}
	row, err := s.Store.CRMProfile(ctx, buyerID)
	if err != nil {
		return nil, err
	}
	p := row.Profile(s.Clock.Now())
	return &p, nil
}

// Moves is a buyer's layer history, oldest first.
func (s *Service) Moves(ctx context.Context, buyerID string) ([]Move, error) {
	if !ids.Valid(buyerID) {
		return nil, ErrProfileNotFound
	}
	return s.Store.CRMMoves(ctx, buyerID)
}

// LayerCounts counts buyers per layer, every layer listed.
func (s *Service) LayerCounts(ctx context.Context) (map[Layer]int, error) {
	c, err := s.Store.CRMLayerCounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range Layers {
		c[l] += 0
	}
	return c, nil
}

// CellCounts counts scored buyers per named cell, every cell listed.
func (s *Service) CellCounts(ctx context.Context) (map[Cell]int, error) {
	grid, err := s.Store.CRMScoreCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[Cell]int, len(Cells))
	for _, c := range Cells {
		out[c] = 0
	}
	for _, g := range grid {
		if c := CellOf(RFM{R: g.R, F: g.F}); c != NoOrders {
			out[c] += g.N
		}
	}
	return out, nil
}

// NewSegment is an operator's segment or tag rule.
type NewSegment struct {
	Name string
	Expr string
	Tag  bool
}

var tagName = regexp.MustCompile(`^[\p{L}\p{N}_\-. ]{1,40}$`)

func (in NewSegment) check() error {
	var l errsList
	if !tagName.MatchString(in.Name) || strings.TrimSpace(in.Name) != in.Name {
		l.add("name", "invalid", "1 to 40 letters, digits, spaces, '_', '-' or '.', without leading or trailing spaces")
	}
	if err := l.err(); err != nil {
		return err
	}
	_, err := Compile(in.Expr)
	return err
}

// CreateSegment compiles and stores a segment; its members are counted
// right away.
func (s *Service) CreateSegment(ctx context.Context, in NewSegment) (*Segment, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	sg := &Segment{ID: ids.New(), Name: in.Name, Expr: in.Expr, Tag: in.Tag, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateSegment(ctx, sg); err != nil {
		return nil, err
	}
	return sg, s.refresh(ctx, sg)
}

// UpdateSegment replaces a segment's name and expression.
func (s *Service) UpdateSegment(ctx context.Context, id string, in NewSegment) (*Segment, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	sg, err := s.Segment(ctx, id)
	if err != nil {
		return nil, err
	}
	if sg.Tag != in.Tag {
		return nil, errs.Field("tag", "immutable", "a segment cannot become a tag rule or stop being one; make a new one")
	}
	sg.Name, sg.Expr, sg.UpdatedAt = in.Name, in.Expr, s.Clock.Now()
	if err := s.Store.UpdateSegment(ctx, sg); err != nil {
		return nil, err
	}
	return sg, s.refresh(ctx, sg)
}

// refresh recomputes one segment's membership.
func (s *Service) refresh(ctx context.Context, sg *Segment) error {
	one := []Segment{*sg}
	if _, err := s.evaluate(ctx, one, s.Clock.Now()); err != nil {
		return err
	}
	sg.Members = one[0].Members
	return nil
}

// Segment reads one segment.
func (s *Service) Segment(ctx context.Context, id string) (*Segment, error) {
	if !ids.Valid(id) {
		return nil, ErrSegmentNotFound
	}
	return s.Store.Segment(ctx, id)
}

// Segments lists every segment and tag rule.
func (s *Service) Segments(ctx context.Context) ([]Segment, error) { return s.Store.Segments(ctx) }

// DeleteSegment removes a segment with its memberships (and a rule tag's
// tags).
func (s *Service) DeleteSegment(ctx context.Context, id string) error {
	if !ids.Valid(id) {
		return ErrSegmentNotFound
	}
	return s.Store.DeleteSegment(ctx, id)
}

// SampleSize is how many buyers a preview shows.
const SampleSize = 20

// Preview is what an expression selects now: the count and the first
// buyers by id (the caller masks what it shows of them).
type Preview struct {
	Count  int       `json:"count"`
	Sample []Profile `json:"sample"`
}

// Preview compiles an expression and runs it over every profile without
// saving anything.
func (s *Service) Preview(ctx context.Context, src string) (*Preview, error) {
	prog, err := Compile(src)
	if err != nil {
		return nil, err
	}
	out := &Preview{Sample: []Profile{}}
	var m vm.VM
	_, err = s.each(ctx, s.Clock.Now(), func(p *Profile) {
		if prog.Match(&m, p) {
			out.Count++
			if len(out.Sample) < SampleSize {
				out.Sample = append(out.Sample, *p)
			}
		}
	})
	return out, err
}

// AddTag gives a buyer a manual tag. A rule tag's name is refused: the
// rule owns it.
func (s *Service) AddTag(ctx context.Context, buyerID, tag string) error {
	if err := s.checkTag(ctx, buyerID, tag); err != nil {
		return err
	}
	return s.Store.AddTag(ctx, buyerID, tag, s.Clock.Now())
}

// RemoveTag takes a manual tag off a buyer.
func (s *Service) RemoveTag(ctx context.Context, buyerID, tag string) error {
	if err := s.checkTag(ctx, buyerID, tag); err != nil {
		return err
	}
	return s.Store.RemoveTag(ctx, buyerID, tag)
}

func (s *Service) checkTag(ctx context.Context, buyerID, tag string) error {
	if !tagName.MatchString(tag) || utf8.RuneCountInString(tag) > 40 {
		return errs.Field("tag", "invalid", "1 to 40 letters, digits, spaces, '_', '-' or '.'")
	}
	if _, err := s.Profile(ctx, buyerID); err != nil {
		return err
	}
	segs, err := s.Store.Segments(ctx)
	if err != nil {
		return err
	}
	for _, sg := range segs {
		if sg.Tag && sg.Name == tag {
			return ErrTagRule
		}
	}
	return nil
}
