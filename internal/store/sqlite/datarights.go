package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/datarights"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
)

// ClaimExport is one conditional upsert: the row moves to now only if its
// last export is at least every old.
func (s *Store) ClaimExport(ctx context.Context, buyerID string, now time.Time, every time.Duration) (bool, time.Time, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO data_exports (buyer_id, last_at) VALUES (?, ?)
		ON CONFLICT (buyer_id) DO UPDATE SET last_at = excluded.last_at WHERE data_exports.last_at <= ?`,
		buyerID, ts(now), ts(now.Add(-every)))
	if err != nil {
		return false, time.Time{}, errs.Wrap(err, "datarights: claim export")
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err == nil, time.Time{}, errs.Wrap(err, "datarights: claim export")
	}
	var last int64
	if err := s.r.QueryRowContext(ctx, `SELECT last_at FROM data_exports WHERE buyer_id = ?`, buyerID).Scan(&last); err != nil {
		return false, time.Time{}, errs.Wrap(err, "datarights: claim export")
	}
	return false, fromTS(last).Add(every), nil
}

// EraseBuyer runs on the one writer, in one transaction with its audit
// entries.
func (s *Store) EraseBuyer(ctx context.Context, e datarights.Erasure, steps func(datarights.Erasure) []audit.Entry) (datarights.Erasure, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT erased_at, addresses, orders, sessions, cart_lines, devices, consents, replays
			FROM data_erasures WHERE buyer_id = ?`, e.BuyerID).Scan(&at, &e.Addresses, &e.Orders, &e.Sessions, &e.CartLines, &e.Devices, &e.Consents, &e.Replays)
		if err == nil {
			e.At, e.Repeated, e.Token = fromTS(at), true, ""
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE buyers SET openid = ?, unionid = '', session_key = '' WHERE id = ?`,
			"erased:"+e.Token, e.BuyerID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return identity.ErrBuyerNotFound
		}
		count := func(dst *int, q string, args ...any) error {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			*dst += int(n)
			return err
		}
		if err := count(&e.Addresses, `DELETE FROM addresses WHERE buyer_id = ?`, e.BuyerID); err != nil {
			return err
		}
		if err := count(&e.CartLines, `DELETE FROM cart_lines WHERE buyer_id = ?`, e.BuyerID); err != nil {
			return err
		}
		// The scope is the one httpapi's idempotent wrapper gives a buyer.
		if err := count(&e.Replays, `DELETE FROM idempotency_keys WHERE scope = ?`, "buyer:"+e.BuyerID); err != nil {
			return err
		}
		if err := count(&e.Sessions, `UPDATE sessions SET revoked_at = ? WHERE kind = 'buyer' AND subject_id = ? AND revoked_at IS NULL`,
			ts(e.At), e.BuyerID); err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE share_visits SET device_id = '' WHERE visitor_id = ? AND device_id <> ''`,
			`UPDATE affiliate_bindings SET device_id = '' WHERE buyer_id = ? AND device_id <> ''`,
			`UPDATE bargain_helps SET device_id = '', ip = '' WHERE helper_id = ? AND (device_id <> '' OR ip <> '')`,
		} {
			if err := count(&e.Devices, q, e.BuyerID); err != nil {
				return err
			}
		}
		if err := s.anonymiseOrders(ctx, tx, &e); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO data_erasures (buyer_id, token, erased_at, addresses, orders, sessions, cart_lines, devices, consents, replays)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.BuyerID, e.Token, ts(e.At), e.Addresses, e.Orders, e.Sessions, e.CartLines, e.Devices, e.Consents, e.Replays); err != nil {
			return err
		}
		for _, a := range steps(e) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				a.ID, ts(a.At), a.ActorID, a.Role, a.Action, a.Target, a.Status, a.RequestID); err != nil {
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

// anonymiseOrders rewrites each order's sealed ship-to without the person:
// the name becomes datarights.ErasedName, the phone and street detail go,
// the area stays (it says nothing of who, and the tax and logistics
// figures kept with the order need it). The remark is the buyer's free text
// and goes too.
func (s *Store) anonymiseOrders(ctx context.Context, tx *sql.Tx, e *datarights.Erasure) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, ship_to FROM orders WHERE buyer_id = ?`, e.BuyerID)
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
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET ship_to = ?, remark = '' WHERE id = ?`, sealed, r.id); err != nil {
			return err
		}
		e.Orders++
	}
	return nil
}
