package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

const crmSegmentColumns = `id, name, expr, tag, members, created_at, updated_at`

func (s *Store) CreateSegment(ctx context.Context, sg *crm.Segment) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO crm_segments (`+crmSegmentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sg.ID, sg.Name, sg.Expr, sg.Tag, sg.Members, ts(sg.CreatedAt), ts(sg.UpdatedAt))
	if segmentNameTaken(err) {
		return crm.ErrSegmentName
	}
	return errs.Wrap(err, "crm: create segment")
}

// UpdateSegment changes a segment; a rule tag's tags go until its
// membership is recomputed (the service does so at once).
func (s *Store) UpdateSegment(ctx context.Context, sg *crm.Segment) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE crm_segments SET name = ?, expr = ?, updated_at = ? WHERE id = ?`,
			sg.Name, sg.Expr, ts(sg.UpdatedAt), sg.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.ErrSegmentNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM crm_tags WHERE segment_id = ?`, sg.ID)
		return err
	})
	if segmentNameTaken(err) {
		return crm.ErrSegmentName
	}
	return errs.Wrap(err, "crm: update segment")
}

func (s *Store) DeleteSegment(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM crm_segments WHERE id = ?`, id)
	if err != nil {
		return errs.Wrap(err, "crm: delete segment")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.ErrSegmentNotFound
	}
	return nil
}

func scanSegment(sc interface{ Scan(...any) error }) (crm.Segment, error) {
	var sg crm.Segment
	var c, u int64
	err := sc.Scan(&sg.ID, &sg.Name, &sg.Expr, &sg.Tag, &sg.Members, &c, &u)
	sg.CreatedAt, sg.UpdatedAt = fromTS(c), fromTS(u)
	return sg, err
}

func (s *Store) Segment(ctx context.Context, id string) (*crm.Segment, error) {
	if !ids.Valid(id) {
		return nil, crm.ErrSegmentNotFound
	}
	sg, err := scanSegment(s.r.QueryRowContext(ctx, `SELECT `+crmSegmentColumns+` FROM crm_segments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crm.ErrSegmentNotFound
	}
	return &sg, errs.Wrap(err, "crm: segment")
}

func (s *Store) Segments(ctx context.Context) ([]crm.Segment, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+crmSegmentColumns+` FROM crm_segments ORDER BY created_at, id`)
	if err != nil {
		return nil, errs.Wrap(err, "crm: segments")
	}
	defer rows.Close()
	out := []crm.Segment{}
	for rows.Next() {
		sg, err := scanSegment(rows)
		if err != nil {
			return nil, errs.Wrap(err, "crm: segments")
		}
		out = append(out, sg)
	}
	return out, errs.Wrap(rows.Err(), "crm: segments")
}

// ReplaceSegmentMembers rewrites the membership through one prepared
// insert on the writer.
func (s *Store) ReplaceSegmentMembers(ctx context.Context, sg *crm.Segment, buyerIDs []string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM crm_segment_members WHERE segment_id = ?`, sg.ID); err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO crm_segment_members (segment_id, buyer_id) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, b := range buyerIDs {
			if _, err := ins.ExecContext(ctx, sg.ID, b); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE crm_segments SET members = ? WHERE id = ?`, len(buyerIDs), sg.ID); err != nil {
			return err
		}
		if !sg.Tag {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM crm_tags WHERE segment_id = ?`, sg.ID); err != nil {
			return err
		}
		// A manual tag of the same name keeps the row: it was there first.
		_, err = tx.ExecContext(ctx, `INSERT INTO crm_tags (buyer_id, tag, segment_id, created_at)
			SELECT buyer_id, ?, segment_id, ? FROM crm_segment_members WHERE segment_id = ?
			ON CONFLICT (buyer_id, tag) DO NOTHING`, sg.Name, ts(time.Now()), sg.ID)
		return err
	})
	sg.Members = len(buyerIDs)
	return errs.Wrap(err, "crm: replace members of %s", sg.ID)
}

func (s *Store) SetBuyerSegments(ctx context.Context, buyerID string, segs []crm.Segment, member []bool) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, sg := range segs {
			var n int64
			if member[i] {
				res, err := tx.ExecContext(ctx, `INSERT INTO crm_segment_members (segment_id, buyer_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, sg.ID, buyerID)
				if err != nil {
					return err
				}
				n, _ = res.RowsAffected()
				if sg.Tag {
					if _, err := tx.ExecContext(ctx, `INSERT INTO crm_tags (buyer_id, tag, segment_id, created_at) VALUES (?, ?, ?, ?)
						ON CONFLICT (buyer_id, tag) DO NOTHING`, buyerID, sg.Name, sg.ID, ts(time.Now())); err != nil {
						return err
					}
				}
			} else {
				res, err := tx.ExecContext(ctx, `DELETE FROM crm_segment_members WHERE segment_id = ? AND buyer_id = ?`, sg.ID, buyerID)
				if err != nil {
					return err
				}
				n, _ = res.RowsAffected()
				n = -n
				if _, err := tx.ExecContext(ctx, `DELETE FROM crm_tags WHERE buyer_id = ? AND segment_id = ?`, buyerID, sg.ID); err != nil {
					return err
				}
			}
			if n != 0 {
				if _, err := tx.ExecContext(ctx, `UPDATE crm_segments SET members = members + ? WHERE id = ?`, n, sg.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return errs.Wrap(err, "crm: set segments of %s", buyerID)
}

func (s *Store) AddTag(ctx context.Context, buyerID, tag string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO crm_tags (buyer_id, tag, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, buyerID, tag, ts(at))
	return errs.Wrap(err, "crm: add tag")
}

func (s *Store) RemoveTag(ctx context.Context, buyerID, tag string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM crm_tags WHERE buyer_id = ? AND tag = ? AND segment_id IS NULL`, buyerID, tag)
	return errs.Wrap(err, "crm: remove tag")
}

// segmentNameTaken reports a clash on crm_segments' unique name.
func segmentNameTaken(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed: crm_segments.name")
}
