package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/share"
)

// nullText stores "" as NULL: an optional id or text column.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Store) CreateShare(ctx context.Context, sh *share.Share) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO shares
		(id, sharer_id, target_kind, target_id, activity_id, depth, parent_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		sh.ID, sh.SharerID, string(sh.TargetKind), sh.TargetID, nullText(sh.ActivityID), sh.Depth,
		nullText(sh.ParentID), sh.CreatedAt)
	return errs.Wrap(err, "share: create")
}

func (s *Store) ShareByID(ctx context.Context, id string) (*share.Share, error) {
	if !ids.Valid(id) {
		return nil, share.ErrNotFound
	}
	var sh share.Share
	var kind string
	err := s.pool.QueryRow(ctx, `SELECT id, sharer_id, target_kind, target_id, coalesce(activity_id::text, ''),
		depth, coalesce(parent_id::text, ''), created_at FROM shares WHERE id = $1`, id).
		Scan(&sh.ID, &sh.SharerID, &kind, &sh.TargetID, &sh.ActivityID, &sh.Depth, &sh.ParentID, &sh.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, share.ErrNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "share: read")
	}
	sh.TargetKind, sh.CreatedAt = share.TargetKind(kind), sh.CreatedAt.UTC()
	return &sh, nil
}

func (s *Store) AddShareVisit(ctx context.Context, v *share.Visit) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO share_visits (id, share_id, visitor_id, device_id, scene, own, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, v.ID, v.ShareID, v.VisitorID, v.DeviceID, string(v.Scene), v.Own, v.At)
	return errs.Wrap(err, "share: visit")
}

func (s *Store) ShareVisitsSince(ctx context.Context, visitorID string, since time.Time, limit int) ([]share.Visit, error) {
	if !ids.Valid(visitorID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, share_id, device_id, scene, own, at FROM share_visits
		WHERE visitor_id = $1 AND at > $2 ORDER BY at DESC, id DESC LIMIT $3`, visitorID, since, limit)
	if err != nil {
		return nil, errs.Wrap(err, "share: recent visits")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (share.Visit, error) {
		v := share.Visit{VisitorID: visitorID}
		var scene string
		err := row.Scan(&v.ID, &v.ShareID, &v.DeviceID, &scene, &v.Own, &v.At)
		v.Scene, v.At = share.Scene(scene), v.At.UTC()
		return v, err
	})
	return out, errs.Wrap(err, "share: recent visits")
}

func (s *Store) ShareVisited(ctx context.Context, visitorID, shareID string) (bool, error) {
	if !ids.Valid(visitorID) || !ids.Valid(shareID) {
		return false, nil
	}
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM share_visits WHERE visitor_id = $1 AND share_id = $2)`,
		visitorID, shareID).Scan(&found)
	return found, errs.Wrap(err, "share: visited")
}

func (s *Store) ShareTouches(ctx context.Context, visitorID string, from, to time.Time) ([]share.Touch, error) {
	if !ids.Valid(visitorID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT v.id, v.device_id, v.scene, v.at,
			s.id, s.sharer_id, s.target_kind, s.target_id, coalesce(s.activity_id::text, ''), s.depth,
			coalesce(s.parent_id::text, ''), s.created_at
		FROM share_visits v JOIN shares s ON s.id = v.share_id
		WHERE v.visitor_id = $1 AND NOT v.own AND v.at BETWEEN $2 AND $3
		ORDER BY v.at DESC, v.id DESC`, visitorID, from, to)
	if err != nil {
		return nil, errs.Wrap(err, "share: touches")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (share.Touch, error) {
		var t share.Touch
		var scene, kind string
		err := row.Scan(&t.Visit.ID, &t.Visit.DeviceID, &scene, &t.Visit.At, &t.Share.ID, &t.Share.SharerID, &kind, &t.Share.TargetID,
			&t.Share.ActivityID, &t.Share.Depth, &t.Share.ParentID, &t.Share.CreatedAt)
		t.Visit.ShareID, t.Visit.VisitorID, t.Visit.Scene, t.Visit.At = t.Share.ID, visitorID, share.Scene(scene), t.Visit.At.UTC()
		t.Share.TargetKind, t.Share.CreatedAt = share.TargetKind(kind), t.Share.CreatedAt.UTC()
		return t, err
	})
	return out, errs.Wrap(err, "share: touches")
}

func (s *Store) AddShareCredit(ctx context.Context, c *share.Credit) (bool, error) {
	chain, err := json.Marshal(c.Chain)
	if err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO share_credits
		(order_id, share_id, sharer_id, buyer_id, amount, new_buyer, chain, at, scene)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (order_id) DO NOTHING`,
		c.OrderID, c.ShareID, c.SharerID, c.BuyerID, int64(c.Amount), c.NewBuyer, string(chain), c.At, string(c.Scene))
	if err != nil {
		return false, errs.Wrap(err, "share: credit")
	}
	return tag.RowsAffected() == 1, nil
}

func (s *Store) ShareCredit(ctx context.Context, orderID string) (*share.Credit, error) {
	if !ids.Valid(orderID) {
		return nil, share.ErrNotCredited
	}
	var c share.Credit
	var amount int64
	var chain string
	var scene string
	err := s.pool.QueryRow(ctx, `SELECT order_id, share_id, sharer_id, buyer_id, amount, new_buyer, chain, at, scene
		FROM share_credits WHERE order_id = $1`, orderID).
		Scan(&c.OrderID, &c.ShareID, &c.SharerID, &c.BuyerID, &amount, &c.NewBuyer, &chain, &c.At, &scene)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, share.ErrNotCredited
	}
	if err != nil {
		return nil, errs.Wrap(err, "share: read credit")
	}
	if err := json.Unmarshal([]byte(chain), &c.Chain); err != nil {
		return nil, errs.Wrap(err, "share: read credit chain")
	}
	c.Amount, c.At, c.Scene = money.Fen(amount), c.At.UTC(), share.Scene(scene)
	return &c, nil
}

// shareEvents is every counted thing under the filter as one row each: a
// share made ('s'), a visit by another ('v') or by the sharer ('o'), an
// order credited ('c'). The groupings count the same rows; by scene, a
// visit counts under its own entry scene and an order under the scene of
// the visit that won its credit.
const shareEvents = `WITH ev AS (
	SELECT s.activity_id, s.sharer_id, 's' AS kind, s.sharer_id AS who, 0::bigint AS amount, 0 AS new_buyer, '' AS scene
	FROM shares s
	WHERE s.created_at >= $1 AND s.created_at < $2 AND ($3::uuid IS NULL OR s.activity_id = $3)
	UNION ALL
	SELECT s.activity_id, s.sharer_id, CASE WHEN v.own THEN 'o' ELSE 'v' END, v.visitor_id, 0, 0, v.scene
	FROM share_visits v JOIN shares s ON s.id = v.share_id
	WHERE v.at >= $1 AND v.at < $2 AND ($3::uuid IS NULL OR s.activity_id = $3)
	UNION ALL
	SELECT s.activity_id, s.sharer_id, 'c', c.buyer_id, c.amount, CASE WHEN c.new_buyer THEN 1 ELSE 0 END, c.scene
	FROM share_credits c JOIN shares s ON s.id = c.share_id
	WHERE c.at >= $1 AND c.at < $2 AND ($3::uuid IS NULL OR s.activity_id = $3)
)
SELECT %s,
	count(DISTINCT CASE WHEN kind = 's' THEN who END),
	sum(CASE WHEN kind = 's' THEN 1 ELSE 0 END),
	sum(CASE WHEN kind = 'v' THEN 1 ELSE 0 END),
	count(DISTINCT CASE WHEN kind = 'v' THEN who END),
	count(DISTINCT CASE WHEN kind <> 'c' THEN who END),
	sum(new_buyer),
	sum(CASE WHEN kind = 'c' THEN 1 ELSE 0 END),
	sum(amount)::bigint
FROM ev `

const (
	shareStatsByActivity     = `coalesce(activity_id::text, '') AS k`
	shareStatsByActivityTail = `GROUP BY k ORDER BY k`
	shareStatsBySharer       = `sharer_id::text AS k`
	shareStatsByScene        = `scene AS k`
	shareStatsBySceneTail    = `WHERE kind IN ('v', 'c') GROUP BY k ORDER BY k`
	shareStatsBySharerTail   = `GROUP BY k ORDER BY sum(amount) DESC, sum(CASE WHEN kind = 'c' THEN 1 ELSE 0 END) DESC, k LIMIT $4`
)

func (s *Store) ShareStats(ctx context.Context, f share.StatsFilter) (share.RawStats, error) {
	out := share.RawStats{Activities: []share.ActivityCounts{}, Sharers: []share.SharerCounts{}, Scenes: []share.SceneCounts{}}
	if f.ActivityID != "" && !ids.Valid(f.ActivityID) {
		return out, nil
	}
	scan := func(head, tail string, args []any, add func(k string, c share.Counts)) error {
		rows, err := s.pool.Query(ctx, fmt.Sprintf(shareEvents, head)+tail, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var c share.Counts
			var gmv int64
			if err := rows.Scan(&k, &c.Sharers, &c.Shares, &c.Visits, &c.UniqueVisitors, &c.ActiveBuyers,
				&c.NewBuyers, &c.Orders, &gmv); err != nil {
				return err
			}
			c.GMV = money.Fen(gmv)
			add(k, c)
		}
		return rows.Err()
	}
	args := []any{f.From, f.To, nullText(f.ActivityID)}
	err := scan(shareStatsByActivity, shareStatsByActivityTail, args, func(k string, c share.Counts) {
		out.Activities = append(out.Activities, share.ActivityCounts{ActivityID: k, Counts: c})
	})
	if err == nil {
		err = scan(shareStatsBySharer, shareStatsBySharerTail, append(args, f.Limit), func(k string, c share.Counts) {
			out.Sharers = append(out.Sharers, share.SharerCounts{SharerID: k, Counts: c})
		})
	}
	if err == nil {
		err = scan(shareStatsByScene, shareStatsBySceneTail, args, func(k string, c share.Counts) {
			out.Scenes = append(out.Scenes, share.SceneCounts{Scene: share.Scene(k), Counts: c})
		})
	}
	return out, errs.Wrap(err, "share: stats")
}
