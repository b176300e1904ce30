package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
)

// Column lists, read in the order the scan functions scan them.
const (
	flashSessionColumns = `id, name, warmup_at, starts_at, ends_at, pay_window_seconds, status, created_by,
	created_at, updated_at`
	flashSKUColumns         = `session_id, position, sku_id, price, quota, buyer_limit, won`
	flashReservationColumns = `id, session_id, sku_id, buyer_id, qty, status, order_id, reason, won_at, updated_at`
)

// The sessions listing's default and largest page: sessions are few (a
// handful a day), and the sweep that closes ended ones reads every
// scheduled one.
const flashSessionsPage, flashSessionsMax = 100, 1000

// flashReservationsMax bounds a buyer's reservations listed in a session:
// a buyer holds a few units of a session, so a longer list is a retry
// storm, not history anyone reads.
const flashReservationsMax = 100

// flashRef is the journal reference of a session's stock moves.
func flashRef(sessionID string) string { return "flash:" + sessionID }

// CreateFlashSession carves the quotas out of the online stock first (a
// short SKU, or one with no stock, fails the transaction as out of stock),
// then writes the session and its SKUs. A SKU row is inserted from the
// skus table, so a SKU that does not exist (of quota 0: nothing carved)
// inserts nothing and is named.
func (s *Store) CreateFlashSession(ctx context.Context, fs *flashsale.Session) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		skus, quotas := make([]string, len(fs.SKUs)), make([]int64, len(fs.SKUs))
		for i, k := range fs.SKUs {
			skus[i], quotas[i] = k.SKUID, int64(k.Quota)
		}
		if err := moveFlashStock(ctx, tx, skus, quotas, inventory.Reserve, flashRef(fs.ID), fs.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO flash_sessions (`+flashSessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			fs.ID, fs.Name, tsPtr(fs.WarmupAt), ts(fs.StartsAt), ts(fs.EndsAt), int64(fs.PayWindow/time.Second),
			string(fs.Status), fs.CreatedBy, ts(fs.CreatedAt), ts(fs.UpdatedAt)); err != nil {
			return err
		}
		for i, k := range fs.SKUs {
			res, err := tx.ExecContext(ctx, `INSERT INTO flash_session_skus (`+flashSKUColumns+`)
				SELECT ?, ?, id, ?, ?, ?, ? FROM skus WHERE id = ?`,
				fs.ID, i, int64(k.Price), k.Quota, k.Limit, k.Won, k.SKUID)
			if err := mustChange(res, err, inventory.ErrSKUNotFound); err != nil {
				return err
			}
		}
		return nil
	})
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(err, "flashsale: create session %s", fs.ID)
}

// moveFlashStock moves a session's units at the online location with the
// order store's conditional updates (orderStockSQL), sorted by SKU as every
// stock move is, leaving out the SKUs with nothing to move, and journals
// each move. A reservation short is out of stock; a release short means
// the books are already wrong, and is refused as an internal error.
func moveFlashStock(ctx context.Context, tx *sql.Tx, skus []string, qtys []int64, reason inventory.Reason, ref string, at time.Time) error {
	type unit struct {
		sku string
		qty int64
	}
	var units []unit
	for i, sku := range skus {
		if qtys[i] > 0 {
			units = append(units, unit{sku, qtys[i]})
		}
	}
	slices.SortFunc(units, func(a, b unit) int { return strings.Compare(a.sku, b.sku) })
	for _, u := range units {
		res, err := tx.ExecContext(ctx, orderStockSQL[reason], sql.Named("q", u.qty), sql.Named("at", ts(at)),
			sql.Named("sku", u.sku), sql.Named("loc", inventory.Online))
		short := inventory.OutOfStock(u.sku)
		if reason != inventory.Reserve {
			short = fmt.Errorf("%s for %s: SKU %s has fewer than %d units reserved", reason, ref, u.sku, u.qty)
		}
		if err := mustChange(res, err, short); err != nil {
			return err
		}
		delta := u.qty
		if reason == inventory.Release {
			delta = -u.qty
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO stock_movements
			(id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at)
			VALUES (?, ?, ?, 0, ?, ?, ?, ?)`,
			ids.New(), u.sku, inventory.Online, delta, reason, ref, ts(at)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) FlashSession(ctx context.Context, id string) (*flashsale.Session, error) {
	fs, err := loadFlashSession(ctx, s.r, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, flashsale.ErrSessionNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: read session %s", id)
	}
	return fs, nil
}

func loadFlashSession(ctx context.Context, db reader, id string) (*flashsale.Session, error) {
	fs, err := scanFlashSession(db.QueryRowContext(ctx, `SELECT `+flashSessionColumns+` FROM flash_sessions WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	skus, err := loadFlashSKUs(ctx, db, []string{id})
	if err != nil {
		return nil, err
	}
	fs.SKUs = skus[id]
	return fs, nil
}

// loadFlashSKUs reads the SKUs of sessions, keyed by session, each
// session's in the order it was created with.
func loadFlashSKUs(ctx context.Context, db reader, sessionIDs []string) (map[string][]flashsale.SessionSKU, error) {
	out := map[string][]flashsale.SessionSKU{}
	if len(sessionIDs) == 0 {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT `+flashSKUColumns+` FROM flash_session_skus
		WHERE session_id IN (`+placeholders(len(sessionIDs))+`) ORDER BY session_id, position`, anys(sessionIDs)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sessionID string
			position  int
			k         flashsale.SessionSKU
		)
		if err := rows.Scan(&sessionID, &position, &k.SKUID, &k.Price, &k.Quota, &k.Limit, &k.Won); err != nil {
			return nil, err
		}
		out[sessionID] = append(out[sessionID], k)
	}
	return out, rows.Err()
}

// FlashSessions lists sessions soonest first, at most a page of them.
func (s *Store) FlashSessions(ctx context.Context, f flashsale.SessionFilter) ([]flashsale.Session, error) {
	var (
		where []string
		args  []any
	)
	if !f.EndsAfter.IsZero() {
		where, args = append(where, "ends_at > ?"), append(args, ts(f.EndsAfter))
	}
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Statuses))+")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	q := `SELECT ` + flashSessionColumns + ` FROM flash_sessions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY starts_at, id LIMIT ?`
	args = append(args, page.Size(f.Limit, flashSessionsPage, flashSessionsMax))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: list sessions")
	}
	defer rows.Close()
	list := []flashsale.Session{}
	for rows.Next() {
		fs, err := scanFlashSession(rows)
		if err != nil {
			return nil, errs.Wrap(err, "flashsale: list sessions")
		}
		list = append(list, *fs)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.Wrap(err, "flashsale: list sessions")
	}
	rows.Close()
	sessionIDs := make([]string, len(list))
	for i, fs := range list {
		sessionIDs[i] = fs.ID
	}
	skus, err := loadFlashSKUs(ctx, s.r, sessionIDs)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: list session SKUs")
	}
	for i := range list {
		list[i].SKUs = skus[list[i].ID]
	}
	return list, nil
}

// EndFlashSession reads the session in the writer's immediate transaction
// (which serialises it against the order writer) and, if it is scheduled,
// gives the unsold units back to the shop, sets each quota to won and the
// status.
func (s *Store) EndFlashSession(ctx context.Context, id string, status flashsale.Status, at time.Time) (*flashsale.Session, error) {
	if status != flashsale.Cancelled && status != flashsale.Closed {
		return nil, errs.Field("status", "invalid_status", "a session ends cancelled or closed, not %q", status)
	}
	var fs *flashsale.Session
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if fs, err = loadFlashSession(ctx, tx, id); err != nil {
			return err
		}
		if fs.Status != flashsale.Scheduled {
			return nil
		}
		skus, unsold := make([]string, len(fs.SKUs)), make([]int64, len(fs.SKUs))
		for i := range fs.SKUs {
			k := &fs.SKUs[i]
			skus[i], unsold[i] = k.SKUID, int64(k.Quota-k.Won)
			k.Quota = k.Won
		}
		fs.Status, fs.UpdatedAt = status, at
		if _, err := tx.ExecContext(ctx, `UPDATE flash_sessions SET status = ?, updated_at = ? WHERE id = ?`,
			string(status), ts(at), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE flash_session_skus SET quota = won WHERE session_id = ?`, id); err != nil {
			return err
		}
		return moveFlashStock(ctx, tx, skus, unsold, inventory.Release, flashRef(id), at)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, flashsale.ErrSessionNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: end session %s", id)
	}
	return fs, nil
}

// FlashHolds reads the session's ordered reservations through the partial
// index that holds only them.
func (s *Store) FlashHolds(ctx context.Context, sessionID string) (map[string][]flashsale.Hold, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sku_id, id, buyer_id, qty FROM flash_reservations
		WHERE session_id = ? AND status = 'ordered' ORDER BY sku_id, won_at, id`, sessionID)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: holds of %s", sessionID)
	}
	defer rows.Close()
	out := map[string][]flashsale.Hold{}
	for rows.Next() {
		var (
			sku string
			h   flashsale.Hold
		)
		if err := rows.Scan(&sku, &h.Ticket, &h.BuyerID, &h.Qty); err != nil {
			return nil, errs.Wrap(err, "flashsale: holds of %s", sessionID)
		}
		out[sku] = append(out[sku], h)
	}
	return out, errs.Wrap(rows.Err(), "flashsale: holds of %s", sessionID)
}

func (s *Store) FlashReservation(ctx context.Context, id string) (*flashsale.Reservation, error) {
	r, err := loadFlashReservation(ctx, s.r, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, flashsale.ErrReservationNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: read reservation %s", id)
	}
	return r, nil
}

func loadFlashReservation(ctx context.Context, db reader, id string) (*flashsale.Reservation, error) {
	return scanFlashReservation(db.QueryRowContext(ctx, `SELECT `+flashReservationColumns+` FROM flash_reservations WHERE id = ?`, id))
}

// FlashReservations lists a buyer's reservations in a session, newest
// first, at most flashReservationsMax of them.
func (s *Store) FlashReservations(ctx context.Context, sessionID, buyerID string) ([]flashsale.Reservation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+flashReservationColumns+` FROM flash_reservations
		WHERE session_id = ? AND buyer_id = ? ORDER BY won_at DESC, id DESC LIMIT ?`,
		sessionID, buyerID, flashReservationsMax)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: reservations of %s in %s", buyerID, sessionID)
	}
	defer rows.Close()
	list := []flashsale.Reservation{}
	for rows.Next() {
		r, err := scanFlashReservation(rows)
		if err != nil {
			return nil, errs.Wrap(err, "flashsale: reservations of %s in %s", buyerID, sessionID)
		}
		list = append(list, *r)
	}
	return list, errs.Wrap(rows.Err(), "flashsale: reservations of %s in %s", buyerID, sessionID)
}

// ReleaseFlashReservation releases an ordered reservation in the writer's
// immediate transaction and, the available units counted in it, either
// reserves them for the session again or shrinks the quota: the units went
// back to the shop with the order's close, and a quota that kept them would
// have EndFlashSession release them twice. A session no longer scheduled is
// never recarved: nothing would give the units back again.
func (s *Store) ReleaseFlashReservation(ctx context.Context, id string, recarve bool, at time.Time) (bool, error) {
	recarved := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := loadFlashReservation(ctx, tx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return flashsale.ErrReservationNotFound
		}
		if err != nil || r.Status != flashsale.Ordered {
			return err
		}
		if recarve {
			var available int64
			err := tx.QueryRowContext(ctx, `SELECT l.on_hand - l.reserved FROM stock_levels l
				JOIN flash_sessions s ON s.id = ? AND s.status = 'scheduled'
				WHERE l.sku_id = ? AND l.location = ?`, r.SessionID, r.SKUID, inventory.Online).Scan(&available)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			recarved = err == nil && available >= int64(r.Qty)
		}
		shrink := r.Qty
		if recarved {
			shrink = 0
		}
		if _, err := tx.ExecContext(ctx, `UPDATE flash_reservations SET status = 'released', updated_at = ? WHERE id = ?`,
			ts(at), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE flash_session_skus SET won = won - ?, quota = quota - ?
			WHERE session_id = ? AND sku_id = ?`, r.Qty, shrink, r.SessionID, r.SKUID); err != nil {
			return err
		}
		if !recarved {
			return nil
		}
		return moveFlashStock(ctx, tx, []string{r.SKUID}, []int64{int64(r.Qty)}, inventory.Reserve, flashRef(r.SessionID), at)
	})
	if err != nil {
		if _, ok := errs.As(err); ok {
			return false, err
		}
		return false, errs.Wrap(err, "flashsale: release reservation %s", id)
	}
	return recarved, nil
}

func scanFlashSession(row interface{ Scan(...any) error }) (*flashsale.Session, error) {
	var (
		fs                                   flashsale.Session
		warmup                               sql.NullInt64
		starts, ends, payWindow, created, up int64
		status                               string
	)
	if err := row.Scan(&fs.ID, &fs.Name, &warmup, &starts, &ends, &payWindow, &status, &fs.CreatedBy,
		&created, &up); err != nil {
		return nil, err
	}
	fs.WarmupAt, fs.StartsAt, fs.EndsAt = fromTSPtr(warmup), fromTS(starts), fromTS(ends)
	fs.PayWindow, fs.Status = time.Duration(payWindow)*time.Second, flashsale.Status(status)
	fs.CreatedAt, fs.UpdatedAt = fromTS(created), fromTS(up)
	return &fs, nil
}

func scanFlashReservation(row interface{ Scan(...any) error }) (*flashsale.Reservation, error) {
	var (
		r         flashsale.Reservation
		status    string
		orderID   sql.NullString
		wonAt, up int64
	)
	if err := row.Scan(&r.ID, &r.SessionID, &r.SKUID, &r.BuyerID, &r.Qty, &status, &orderID, &r.Reason,
		&wonAt, &up); err != nil {
		return nil, err
	}
	r.Status, r.OrderID = flashsale.ReservationStatus(status), orderID.String
	r.WonAt, r.UpdatedAt = fromTS(wonAt), fromTS(up)
	return &r, nil
}
