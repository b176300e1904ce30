package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"time"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/datarights"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// ClaimExport is one conditional upsert: the row moves to now only if its
// last export is at least every old.
func (s *Store) ClaimExport(ctx context.Context, buyerID string, now time.Time, every time.Duration) (bool, time.Time, error) {
	if !ids.Valid(buyerID) {
		return false, time.Time{}, identity.ErrBuyerNotFound
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO data_exports (buyer_id, last_at) VALUES ($1, $2)
		ON CONFLICT (buyer_id) DO UPDATE SET last_at = excluded.last_at WHERE data_exports.last_at <= $3`,
		buyerID, now, now.Add(-every))
	if err != nil {
		return false, time.Time{}, errs.Wrap(err, "datarights: claim export")
	}
	if tag.RowsAffected() == 1 {
		return true, time.Time{}, nil
	}
	var last time.Time
	if err := s.pool.QueryRow(ctx, `SELECT last_at FROM data_exports WHERE buyer_id = $1`, buyerID).Scan(&last); err != nil {
		return false, time.Time{}, errs.Wrap(err, "datarights: claim export")
	}
	return false, last.UTC().Add(every), nil
}

// EraseBuyer locks the buyer's row first, so two erasures of one buyer
// queue and the second finds the first's record.
func (s *Store) EraseBuyer(ctx context.Context, e datarights.Erasure, steps func(datarights.Erasure) []audit.Entry) (datarights.Erasure, error) {
	if !ids.Valid(e.BuyerID) {
		return e, identity.ErrBuyerNotFound
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM buyers WHERE id = $1 FOR UPDATE`, e.BuyerID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return identity.ErrBuyerNotFound
			}
			return err
		}
		err := tx.QueryRow(ctx, `SELECT erased_at, addresses, orders, sessions, cart_lines, devices, consents, replays
			FROM data_erasures WHERE buyer_id = $1`, e.BuyerID).Scan(&e.At, &e.Addresses, &e.Orders, &e.Sessions, &e.CartLines, &e.Devices, &e.Consents, &e.Replays)
		if err == nil {
			e.At, e.Repeated, e.Token = e.At.UTC(), true, ""
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		count := func(dst *int, q string, args ...any) error {
			tag, err := tx.Exec(ctx, q, args...)
			*dst += int(tag.RowsAffected())
			return err
		}
		var none int
		if err := count(&none, `UPDATE buyers SET openid = $1, unionid = '', session_key = '' WHERE id = $2`,
			"erased:"+e.Token, e.BuyerID); err != nil {
			return err
		}
		if err := count(&e.Addresses, `DELETE FROM addresses WHERE buyer_id = $1`, e.BuyerID); err != nil {
			return err
		}
		if err := count(&e.CartLines, `DELETE FROM cart_lines WHERE buyer_id = $1`, e.BuyerID); err != nil {
			return err
		}
		// The scope is the one httpapi's idempotent wrapper gives a buyer.
		if err := count(&e.Replays, `DELETE FROM idempotency_keys WHERE scope = $1`, "buyer:"+e.BuyerID); err != nil {
			return err
		}
		if err := count(&e.Sessions, `UPDATE sessions SET revoked_at = $1 WHERE kind = 'buyer' AND subject_id = $2 AND revoked_at IS NULL`,
			e.At, e.BuyerID); err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE share_visits SET device_id = '' WHERE visitor_id = $1 AND device_id <> ''`,
			`UPDATE affiliate_bindings SET device_id = '' WHERE buyer_id = $1 AND device_id <> ''`,
			`UPDATE bargain_helps SET device_id = '', ip = '' WHERE helper_id = $1 AND (device_id <> '' OR ip <> '')`,
		} {
			if err := count(&e.Devices, q, e.BuyerID); err != nil {
				return err
			}
		}
		if err := s.anonymiseOrders(ctx, tx, &e); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO data_erasures (buyer_id, token, erased_at, addresses, orders, sessions, cart_lines, devices, consents, replays)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, e.BuyerID, e.Token, e.At, e.Addresses, e.Orders, e.Sessions, e.CartLines, e.Devices, e.Consents, e.Replays); err != nil {
			return err
		}
		for _, a := range steps(e) {
			if _, err := tx.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				a.ID, a.At, a.ActorID, a.Role, a.Action, a.Target, a.Status, a.RequestID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, identity.ErrBuyerNotFound) {
		err = errs.Wrap(err, "datarights: erase")
	}
	return e, err
}

// anonymiseOrders rewrites each order's sealed ship-to without the person,
// as the SQLite engine does (see there for why the area stays).
func (s *Store) anonymiseOrders(ctx context.Context, tx pgx.Tx, e *datarights.Erasure) error {
	rows, err := tx.Query(ctx, `SELECT id::text, ship_to FROM orders WHERE buyer_id = $1 ORDER BY id FOR UPDATE`, e.BuyerID)
	if err != nil {
		return err
	}
	type row struct{ id, shipTo string }
	var rs []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.shipTo); err != nil {
			rows.Close()
			return err
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range rs {
		st, err := s.openShipTo(r.shipTo)
		if err != nil {
			return err
		}
		st.Name, st.Phone, st.Detail = datarights.ErasedName, "", ""
		sealed, err := s.sealShipTo(st)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET ship_to = $1, remark = '' WHERE id = $2`, sealed, r.id); err != nil {
			return err
		}
		e.Orders++
	}
	return nil
}
