package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/share"
)

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Store) CreateShare(ctx context.Context, sh *share.Share) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO shares
			(id, sharer_id, target_kind, target_id, activity_id, depth, parent_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			sh.ID, sh.SharerID, string(sh.TargetKind), sh.TargetID, nullText(sh.ActivityID), sh.Depth,
			nullText(sh.ParentID), ts(sh.CreatedAt))
		return err
	})
	return errs.Wrap(err, "share: create")
}

func (s *Store) ShareByID(ctx context.Context, id string) (*share.Share, error) {
	var sh share.Share
	var kind string
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT id, sharer_id, target_kind, target_id, coalesce(activity_id, ''),
		depth, coalesce(parent_id, ''), created_at FROM shares WHERE id = ?`, id).
		Scan(&sh.ID, &sh.SharerID, &kind, &sh.TargetID, &sh.ActivityID, &sh.Depth, &sh.ParentID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, share.ErrNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "share: read")
	}
	sh.TargetKind, sh.CreatedAt = share.TargetKind(kind), fromTS(at)
	return &sh, nil
}

func (s *Store) AddShareVisit(ctx context.Context, v *share.Visit) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO share_visits (id, share_id, visitor_id, device_id, scene, own, at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, v.ID, v.ShareID, v.VisitorID, v.DeviceID, string(v.Scene), v.Own, ts(v.At))
		return err
	})
	return errs.Wrap(err, "share: visit")
}

func (s *Store) ShareVisitsSince(ctx context.Context, visitorID string, since time.Time, limit int) ([]share.Visit, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, share_id, device_id, scene, own, at FROM share_visits
		WHERE visitor_id = ? AND at > ? ORDER BY at DESC, id DESC LIMIT ?`, visitorID, ts(since), limit)
	if err != nil {
		return nil, errs.Wrap(err, "share: recent visits")
	}
	defer rows.Close()
	var out []share.Visit
	for rows.Next() {
		v := share.Visit{VisitorID: visitorID}
		var scene string
		var at int64
		if err := rows.Scan(&v.ID, &v.ShareID, &v.DeviceID, &scene, &v.Own, &at); err != nil {
			return nil, errs.Wrap(err, "share: recent visits")
		}
		v.Scene, v.At = share.Scene(scene), fromTS(at)
		out = append(out, v)
	}
	return out, errs.Wrap(rows.Err(), "share: recent visits")
}

func (s *Store) ShareVisited(ctx context.Context, visitorID, shareID string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM share_visits WHERE visitor_id = ? AND share_id = ?`,
		visitorID, shareID).Scan(&n)
	return n > 0, errs.Wrap(err, "share: visited")
}

func (s *Store) ShareTouches(ctx context.Context, visitorID string, from, to time.Time) ([]share.Touch, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT v.id, v.device_id, v.scene, v.at,
			s.id, s.sharer_id, s.target_kind, s.target_id, coalesce(s.activity_id, ''), s.depth,
			coalesce(s.parent_id, ''), s.created_at
		FROM share_visits v JOIN shares s ON s.id = v.share_id
		WHERE v.visitor_id = ? AND NOT v.own AND v.at BETWEEN ? AND ?
		ORDER BY v.at DESC, v.id DESC`, visitorID, ts(from), ts(to))
	if err != nil {
		return nil, errs.Wrap(err, "share: touches")
	}
	defer rows.Close()
	var out []share.Touch
	for rows.Next() {
		var t share.Touch
		var scene, kind string
		var vat, sat int64
		if err := rows.Scan(&t.Visit.ID, &t.Visit.DeviceID, &scene, &vat, &t.Share.ID, &t.Share.SharerID, &kind, &t.Share.TargetID,
			&t.Share.ActivityID, &t.Share.Depth, &t.Share.ParentID, &sat); err != nil {
			return nil, errs.Wrap(err, "share: touches")
		}
		t.Visit.ShareID, t.Visit.VisitorID, t.Visit.Scene, t.Visit.At = t.Share.ID, visitorID, share.Scene(scene), fromTS(vat)
		t.Share.TargetKind, t.Share.CreatedAt = share.TargetKind(kind), fromTS(sat)
		out = append(out, t)
	}
	return out, errs.Wrap(rows.Err(), "share: touches")
}

func (s *Store) AddShareCredit(ctx context.Context, c *share.Credit) (bool, error) {
	chain, err := json.Marshal(c.Chain)
	if err != nil {
		return false, err
	}
	var n int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO share_credits
			(order_id, share_id, sharer_id, buyer_id, amount, new_buyer, chain, at, scene)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
			c.OrderID, c.ShareID, c.SharerID, c.BuyerID, int64(c.Amount), c.NewBuyer, string(chain), ts(c.At), string(c.Scene))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, errs.Wrap(err, "share: credit")
}

func (s *Store) ShareCredit(ctx context.Context, orderID string) (*share.Credit, error) {
	var c share.Credit
	var amount, at int64
	var chain string
	var scene string
	err := s.r.QueryRowContext(ctx, `SELECT order_id, share_id, sharer_id, buyer_id, amount, new_buyer, chain, at, scene
		FROM share_credits WHERE order_id = ?`, orderID).
		Scan(&c.OrderID, &c.ShareID, &c.SharerID, &c.BuyerID, &amount, &c.NewBuyer, &chain, &at, &scene)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, share.ErrNotCredited
	}
	if err != nil {
		return nil, errs.Wrap(err, "share: read credit")
	}
	if err := json.Unmarshal([]byte(chain), &c.Chain); err != nil {
		return nil, errs.Wrap(err, "share: read credit chain")
	}
	c.Amount, c.At, c.Scene = money.Fen(amount), fromTS(at), share.Scene(scene)
	return &c, nil
}

// shareEvents is every counted thing under the filter as one row each: a
// share made ('s'), a visit by another ('v') or by the sharer ('o'), an
// order credited ('c'). The groupings count the same rows; by scene, a
// visit counts under its own entry scene and an order under the scene of
// the visit that won its credit.
const shareEvents = `WITH ev AS (
	SELECT s.activity_id, s.sharer_id, 's' AS kind, s.sharer_id AS who, 0 AS amount, 0 AS new_buyer, '' AS scene
	FROM shares s
	WHERE s.created_at >= :from AND s.created_at < :to AND (:act = '' OR s.activity_id = :act)
	UNION ALL
	SELECT s.activity_id, s.sharer_id, CASE WHEN v.own THEN 'o' ELSE 'v' END, v.visitor_id, 0, 0, v.scene
	FROM share_visits v JOIN shares s ON s.id = v.share_id
	WHERE v.at >= :from AND v.at < :to AND (:act = '' OR s.activity_id = :act)
	UNION ALL
	SELECT s.activity_id, s.sharer_id, 'c', c.buyer_id, c.amount, c.new_buyer, c.scene
	FROM share_credits c JOIN shares s ON s.id = c.share_id
	WHERE c.at >= :from AND c.at < :to AND (:act = '' OR s.activity_id = :act)
)
SELECT %s,
	count(DISTINCT CASE WHEN kind = 's' THEN who END),
	sum(CASE WHEN kind = 's' THEN 1 ELSE 0 END),
	sum(CASE WHEN kind = 'v' THEN 1 ELSE 0 END),
	count(DISTINCT CASE WHEN kind = 'v' THEN who END),
	count(DISTINCT CASE WHEN kind <> 'c' THEN who END),
	sum(new_buyer),
	sum(CASE WHEN kind = 'c' THEN 1 ELSE 0 END),
	sum(amount)
FROM ev `

const (
	shareStatsByActivity     = `coalesce(activity_id, '') AS k`
	shareStatsByActivityTail = `GROUP BY k ORDER BY k`
	shareStatsBySharer       = `sharer_id AS k`
	shareStatsByScene        = `scene AS k`
	shareStatsBySceneTail    = `WHERE kind IN ('v', 'c') GROUP BY k ORDER BY k`
	shareStatsBySharerTail   = `GROUP BY k ORDER BY sum(amount) DESC, sum(CASE WHEN kind = 'c' THEN 1 ELSE 0 END) DESC, k LIMIT :limit`
)

func (s *Store) ShareStats(ctx context.Context, f share.StatsFilter) (share.RawStats, error) {
	args := []any{sql.Named("from", ts(f.From)), sql.Named("to", ts(f.To)), sql.Named("act", f.ActivityID),
		sql.Named("limit", f.Limit)}
	out := share.RawStats{Activities: []share.ActivityCounts{}, Sharers: []share.SharerCounts{}, Scenes: []share.SceneCounts{}}
	scan := func(head, tail string, add func(k string, c share.Counts)) error {
		rows, err := s.r.QueryContext(ctx, fmt.Sprintf(shareEvents, head)+tail, args...)
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
	err := scan(shareStatsByActivity, shareStatsByActivityTail, func(k string, c share.Counts) {
		out.Activities = append(out.Activities, share.ActivityCounts{ActivityID: k, Counts: c})
	})
	if err == nil {
		err = scan(shareStatsBySharer, shareStatsBySharerTail, func(k string, c share.Counts) {
			out.Sharers = append(out.Sharers, share.SharerCounts{SharerID: k, Counts: c})
		})
	}
	if err == nil {
		err = scan(shareStatsByScene, shareStatsBySceneTail, func(k string, c share.Counts) {
			out.Scenes = append(out.Scenes, share.SceneCounts{Scene: share.Scene(k), Counts: c})
		})
	}
	return out, errs.Wrap(err, "share: stats")
}
