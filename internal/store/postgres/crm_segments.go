package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

const crmSegmentColumns = `id, name, expr, tag, members, created_at, updated_at`

func (s *Store) CreateSegment(ctx context.Context, sg *crm.Segment) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO crm_segments (`+crmSegmentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		sg.ID, sg.Name, sg.Expr, sg.Tag, sg.Members, sg.CreatedAt, sg.UpdatedAt)
	if isUnique(err) {
		return crm.ErrSegmentName
	}
	return errs.Wrap(err, "crm: create segment")
}

// UpdateSegment renames a segment; a rule tag's tags are renamed with it.
func (s *Store) UpdateSegment(ctx context.Context, sg *crm.Segment) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE crm_segments SET name = $2, expr = $3, updated_at = $4 WHERE id = $1`,
			sg.ID, sg.Name, sg.Expr, sg.UpdatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return crm.ErrSegmentNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM crm_tags WHERE segment_id = $1`, sg.ID)
		return err
	})
	if isUnique(err) {
		return crm.ErrSegmentName
	}
	return errs.Wrap(err, "crm: update segment")
}

func (s *Store) DeleteSegment(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM crm_segments WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return crm.ErrSegmentNotFound
	}
	return errs.Wrap(err, "crm: delete segment")
}

func (s *Store) Segment(ctx context.Context, id string) (*crm.Segment, error) {
	if !ids.Valid(id) {
		return nil, crm.ErrSegmentNotFound
	}
	var sg crm.Segment
	err := s.pool.QueryRow(ctx, `SELECT `+crmSegmentColumns+` FROM crm_segments WHERE id = $1`, id).
		Scan(&sg.ID, &sg.Name, &sg.Expr, &sg.Tag, &sg.Members, &sg.CreatedAt, &sg.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crm.ErrSegmentNotFound
	}
	sg.CreatedAt, sg.UpdatedAt = sg.CreatedAt.UTC(), sg.UpdatedAt.UTC()
	return &sg, errs.Wrap(err, "crm: segment")
}

func (s *Store) Segments(ctx context.Context) ([]crm.Segment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+crmSegmentColumns+` FROM crm_segments ORDER BY created_at, id`)
	if err != nil {
		return nil, errs.Wrap(err, "crm: segments")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (crm.Segment, error) {
		var sg crm.Segment
		err := row.Scan(&sg.ID, &sg.Name, &sg.Expr, &sg.Tag, &sg.Members, &sg.CreatedAt, &sg.UpdatedAt)
		sg.CreatedAt, sg.UpdatedAt = sg.CreatedAt.UTC(), sg.UpdatedAt.UTC()
		return sg, err
	})
	if out == nil {
		out = []crm.Segment{}
	}
	return out, errs.Wrap(err, "crm: segments")
}

// ReplaceSegmentMembers sends the new membership with COPY into a
// temporary table and applies only the difference: on a daily recompute
// most members stay, and a row that stays costs no index write.
func (s *Store) ReplaceSegmentMembers(ctx context.Context, sg *crm.Segment, buyerIDs []string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE crm_next (buyer_id uuid NOT NULL) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"crm_next"}, []string{"buyer_id"},
			pgx.CopyFromSlice(len(buyerIDs), func(i int) ([]any, error) { return []any{buyerIDs[i]}, nil })); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ANALYZE crm_next`); err != nil {
			return err
		}
		steps := []string{
			`DELETE FROM crm_segment_members m WHERE m.segment_id = $1
			 AND NOT EXISTS (SELECT 1 FROM crm_next n WHERE n.buyer_id = m.buyer_id)`,
			`INSERT INTO crm_segment_members (segment_id, buyer_id) SELECT $1, buyer_id FROM crm_next ON CONFLICT DO NOTHING`,
		}
		if sg.Tag {
			// A manual tag of the same name keeps its row: it was there first.
			steps = append(steps,
				`DELETE FROM crm_tags t WHERE t.segment_id = $1
				 AND NOT EXISTS (SELECT 1 FROM crm_next n WHERE n.buyer_id = t.buyer_id)`,
				`INSERT INTO crm_tags (buyer_id, tag, segment_id, created_at)
				 SELECT buyer_id, (SELECT name FROM crm_segments WHERE id = $1), $1, now() FROM crm_next
				 ON CONFLICT (buyer_id, tag) DO NOTHING`)
		}
		for _, q := range steps {
			if _, err := tx.Exec(ctx, q, sg.ID); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE crm_segments SET members = $2 WHERE id = $1 AND members <> $2`, sg.ID, len(buyerIDs))
		return err
	})
	sg.Members = len(buyerIDs)
	return errs.Wrap(err, "crm: replace members of %s", sg.ID)
}

func (s *Store) SetBuyerSegments(ctx context.Context, buyerID string, segs []crm.Segment, member []bool) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for i, sg := range segs {
			var n int64
			if member[i] {
				tag, err := tx.Exec(ctx, `INSERT INTO crm_segment_members (segment_id, buyer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sg.ID, buyerID)
				if err != nil {
					return err
				}
				n = tag.RowsAffected()
				if sg.Tag {
					if _, err := tx.Exec(ctx, `INSERT INTO crm_tags (buyer_id, tag, segment_id, created_at) VALUES ($1, $2, $3, now())
						ON CONFLICT (buyer_id, tag) DO NOTHING`, buyerID, sg.Name, sg.ID); err != nil {
						return err
					}
				}
			} else {
				tag, err := tx.Exec(ctx, `DELETE FROM crm_segment_members WHERE segment_id = $1 AND buyer_id = $2`, sg.ID, buyerID)
				if err != nil {
					return err
				}
				n = -tag.RowsAffected()
				if _, err := tx.Exec(ctx, `DELETE FROM crm_tags WHERE buyer_id = $1 AND segment_id = $2`, buyerID, sg.ID); err != nil {
					return err
				}
			}
			if n != 0 {
				if _, err := tx.Exec(ctx, `UPDATE crm_segments SET members = members + $2 WHERE id = $1`, sg.ID, n); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return errs.Wrap(err, "crm: set segments of %s", buyerID)
}

func (s *Store) AddTag(ctx context.Context, buyerID, tag string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO crm_tags (buyer_id, tag, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, buyerID, tag, at)
	return errs.Wrap(err, "crm: add tag")
}

func (s *Store) RemoveTag(ctx context.Context, buyerID, tag string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM crm_tags WHERE buyer_id = $1 AND tag = $2 AND segment_id IS NULL`, buyerID, tag)
	return errs.Wrap(err, "crm: remove tag")
}
