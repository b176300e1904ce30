package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

// Lock order. Every transaction that locks rows of a flash sale takes them
// in this order: a reservation, the session, its SKU rows by (session,
// SKU), the stock levels last (as every order does). The order writers of
// several replicas lock the SKU rows of their batches sorted, so they queue
// on each other instead of deadlocking. Rows are locked FOR NO KEY UPDATE,
// the lock the UPDATE that follows takes anyway, which leaves the KEY
// SHARE locks of foreign key checks (a SKU row's on its session) free.

// flashRef is the journal reference of a session's stock moves.
func flashRef(sessionID string) string { return "flash:" + sessionID }

// CreateFlashSession sends the session, its SKUs and the carve of their
// quotas as one batch with its COMMIT. The carve goes first: a session is
// created rarely, so holding the stock rows for the rest of the batch costs
// nothing, and a short SKU (or one with no stock at all) aborts the batch
// as out of stock before anything else runs.
func (s *Store) CreateFlashSession(ctx context.Context, fs *flashsale.Session) error {
	n := len(fs.SKUs)
	skus, prices, quotas, limits, won := make([]string, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, k := range fs.SKUs {
		if !ids.Valid(k.SKUID) {
			return inventory.ErrSKUNotFound
		}
		skus[i], prices[i], quotas[i], limits[i], won[i] = k.SKUID, int64(k.Price), int64(k.Quota), int64(k.Limit), int64(k.Won)
	}
	b := &pgx.Batch{}
	queueFlashStock(b, skus, quotas, inventory.Reserve, flashRef(fs.ID), fs.CreatedAt)
	b.Queue(`INSERT INTO flash_sessions (`+flashSessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		fs.ID, fs.Name, fs.WarmupAt, fs.StartsAt, fs.EndsAt, int64(fs.PayWindow/time.Second), string(fs.Status),
		fs.CreatedBy, fs.CreatedAt, fs.UpdatedAt)
	b.Queue(`INSERT INTO flash_session_skus (`+flashSKUColumns+`)
		SELECT $1, k.position - 1, k.sku_id, k.price, k.quota, k.buyer_limit, k.won
		FROM unnest($2::uuid[], $3::bigint[], $4::integer[], $5::integer[], $6::integer[])
			WITH ORDINALITY AS k(sku_id, price, quota, buyer_limit, won, position)`,
		fs.ID, skus, prices, quotas, limits, won)
	err := s.sendCommitted(ctx, b)
	if sku, short := stockShort(err); short {
		return inventory.OutOfStock(sku)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" && pe.ConstraintName == "flash_session_skus_sku_id_fkey" {
		return inventory.ErrSKUNotFound // a SKU of quota 0, not carved, that does not exist
	}
	return errs.Wrap(err, "flashsale: create session %s", fs.ID)
}

// queueFlashStock queues the move of a session's units at the online
// location through siyu_move_stock (migration 0002), sorted by SKU as every
// stock move is, leaving out the SKUs with nothing to move.
func queueFlashStock(b *pgx.Batch, skus []string, qtys []int64, reason inventory.Reason, ref string, at time.Time) {
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
	if len(units) == 0 {
		return
	}
	slices.SortFunc(units, func(a, b unit) int { return strings.Compare(a.sku, b.sku) })
	ss, qs, ms := make([]string, len(units)), make([]int64, len(units)), make([]string, len(units))
	for i, u := range units {
		ss[i], qs[i], ms[i] = u.sku, u.qty, ids.New()
	}
	b.Queue(`SELECT siyu_move_stock($1, $2, $3, $4, $5, $6, $7)`, ss, qs, ms, inventory.Online, string(reason), ref, at)
}

func (s *Store) FlashSession(ctx context.Context, id string) (*flashsale.Session, error) {
	if !ids.Valid(id) {
		return nil, flashsale.ErrSessionNotFound
	}
	b := &pgx.Batch{}
	fs, found := queueLoadFlashSession(b, id, "")
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, errs.Wrap(err, "flashsale: read session %s", id)
	}
	if !*found {
		return nil, flashsale.ErrSessionNotFound
	}
	return fs, nil
}

// queueLoadFlashSession queues the read of a session (with lock) and its
// SKUs (with the same lock, taken in SKU order); once the batch is read,
// *found says whether it exists.
func queueLoadFlashSession(b *pgx.Batch, id, lock string) (fs *flashsale.Session, found *bool) {
	fs, found = &flashsale.Session{}, new(bool)
	b.Queue(`SELECT `+flashSessionColumns+` FROM flash_sessions WHERE id = $1 `+lock, id).QueryRow(func(row pgx.Row) error {
		got, err := scanFlashSession(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		*fs, *found = *got, true
		return nil
	})
	b.Queue(`SELECT `+flashSKUColumns+` FROM flash_session_skus WHERE session_id = $1 ORDER BY sku_id `+lock, id).
		Query(func(rows pgx.Rows) error {
			skus, err := scanFlashSKUs(rows)
			fs.SKUs = skus[id]
			return err
		})
	return fs, found
}

// FlashSessions lists sessions soonest first, at most a page of them. A
// page is larger than other listings': sessions are few (a handful a day),
// and the sweep that closes ended ones reads every scheduled one.
func (s *Store) FlashSessions(ctx context.Context, f flashsale.SessionFilter) ([]flashsale.Session, error) {
	var (
		where []string
		args  []any
	)
	if !f.EndsAfter.IsZero() {
		args = append(args, f.EndsAfter)
		where = append(where, "ends_at > $"+strconv.Itoa(len(args)))
	}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, x := range f.Statuses {
			st[i] = string(x)
		}
		args = append(args, st)
		where = append(where, "status = ANY($"+strconv.Itoa(len(args))+")")
	}
	q := `SELECT ` + flashSessionColumns + ` FROM flash_sessions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, page.Size(f.Limit, flashSessionsPage, flashSessionsMax))
	q += ` ORDER BY starts_at, id LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: list sessions")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (flashsale.Session, error) {
		fs, err := scanFlashSession(row)
		if err != nil {
			return flashsale.Session{}, err
		}
		return *fs, nil
	})
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: list sessions")
	}
	if len(list) == 0 {
		return []flashsale.Session{}, nil
	}
	sessionIDs := make([]string, len(list))
	for i, fs := range list {
		sessionIDs[i] = fs.ID
	}
	rows, err = s.pool.Query(ctx, `SELECT `+flashSKUColumns+` FROM flash_session_skus WHERE session_id = ANY($1)`, sessionIDs)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: list session SKUs")
	}
	skus, err := scanFlashSKUs(rows)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: list session SKUs")
	}
	for i := range list {
		list[i].SKUs = skus[list[i].ID]
	}
	return list, nil
}

// EndFlashSession locks the session and its SKU rows in the batch that
// begins the transaction; if it is scheduled, the second batch gives the
// unsold units back to the shop (the stock last), sets each quota to won
// and the status, and commits.
func (s *Store) EndFlashSession(ctx context.Context, id string, status flashsale.Status, at time.Time) (*flashsale.Session, error) {
	if status != flashsale.Cancelled && status != flashsale.Closed {
		return nil, errs.Field("status", "invalid_status", "a session ends cancelled or closed, not %q", status)
	}
	if !ids.Valid(id) {
		return nil, flashsale.ErrSessionNotFound
	}
	reads := &pgx.Batch{}
	fs, found := queueLoadFlashSession(reads, id, "FOR NO KEY UPDATE")
	err := s.readThenCommit(ctx, reads, func() (*pgx.Batch, error) {
		if !*found {
			return nil, flashsale.ErrSessionNotFound
		}
		if fs.Status != flashsale.Scheduled {
			return nil, errNothingToWrite
		}
		skus, unsold := make([]string, len(fs.SKUs)), make([]int64, len(fs.SKUs))
		for i := range fs.SKUs {
			k := &fs.SKUs[i]
			skus[i], unsold[i] = k.SKUID, int64(k.Quota-k.Won)
			k.Quota = k.Won
		}
		fs.Status, fs.UpdatedAt = status, at
		w := &pgx.Batch{}
		w.Queue(`UPDATE flash_sessions SET status = $2, updated_at = $3 WHERE id = $1`, id, string(status), at)
		w.Queue(`UPDATE flash_session_skus SET quota = won WHERE session_id = $1`, id)
		queueFlashStock(w, skus, unsold, inventory.Release, flashRef(id), at)
		return w, nil
	})
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
	if err != nil {
		if _, ok := errs.As(err); ok {
			return nil, err
		}
		return nil, errs.Wrap(err, "flashsale: end session %s", id)
	}
	return fs, nil
}

// FlashHolds reads the session's ordered reservations through the partial
// index that holds only them.
func (s *Store) FlashHolds(ctx context.Context, sessionID string) (map[string][]flashsale.Hold, error) {
	out := map[string][]flashsale.Hold{}
	if !ids.Valid(sessionID) {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT sku_id, id, buyer_id, qty FROM flash_reservations
		WHERE session_id = $1 AND status = 'ordered' ORDER BY sku_id, won_at, id`, sessionID)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: holds of %s", sessionID)
	}
	defer rows.Close()
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
	r, err := scanFlashReservation(s.pool.QueryRow(ctx, `SELECT `+flashReservationColumns+` FROM flash_reservations WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, flashsale.ErrReservationNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: read reservation %s", id)
	}
	return r, nil
}

// The sessions listing's default and largest page.
const flashSessionsPage, flashSessionsMax = 100, 1000

// flashReservationsMax bounds a buyer's reservations listed in a session:
// a buyer holds a few units of a session, so a longer list is a retry
// storm, not history anyone reads.
const flashReservationsMax = 100

// FlashReservations lists a buyer's reservations in a session, newest
// first, at most flashReservationsMax of them.
func (s *Store) FlashReservations(ctx context.Context, sessionID, buyerID string) ([]flashsale.Reservation, error) {
	if !ids.Valid(sessionID) || !ids.Valid(buyerID) {
		return []flashsale.Reservation{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+flashReservationColumns+` FROM flash_reservations
		WHERE session_id = $1 AND buyer_id = $2 ORDER BY won_at DESC, id DESC LIMIT $3`,
		sessionID, buyerID, flashReservationsMax)
	if err != nil {
		return nil, errs.Wrap(err, "flashsale: reservations of %s in %s", buyerID, sessionID)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (flashsale.Reservation, error) {
		r, err := scanFlashReservation(row)
		if err != nil {
			return flashsale.Reservation{}, err
		}
		return *r, nil
	})
	if list == nil {
		list = []flashsale.Reservation{}
	}
	return list, errs.Wrap(err, "flashsale: reservations of %s in %s", buyerID, sessionID)
}

// ReleaseFlashReservation locks, in the batch that begins the transaction,
// the reservation, its SKU row and (to recarve) the SKU's online stock
// level, and reads the session's status after the SKU row's lock, so an
// EndFlashSession that committed first is seen. The second batch releases
// the reservation and, the available units counted under their lock, either
// reserves them for the session again (the stock last) or shrinks the
// quota: the units went back to the shop with the order's close, and a
// quota that kept them would have EndFlashSession release them twice. A
// session no longer scheduled is never recarved: nothing would give the
// units back again.
func (s *Store) ReleaseFlashReservation(ctx context.Context, id string, recarve bool, at time.Time) (bool, error) {
	reads := &pgx.Batch{}
	f := queueReleaseFacts(reads, id, recarve)
	recarved := false
	err := s.readThenCommit(ctx, reads, func() (*pgx.Batch, error) {
		r := f.reservation
		if r == nil {
			return nil, flashsale.ErrReservationNotFound
		}
		if r.Status != flashsale.Ordered {
			return nil, errNothingToWrite
		}
		recarved = recarve && f.status == string(flashsale.Scheduled) && f.stocked && f.available >= int64(r.Qty)
		shrink := r.Qty
		if recarved {
			shrink = 0
		}
		w := &pgx.Batch{}
		w.Queue(`UPDATE flash_reservations SET status = 'released', updated_at = $2 WHERE id = $1`, id, at)
		w.Queue(`UPDATE flash_session_skus SET won = won - $3, quota = quota - $4 WHERE session_id = $1 AND sku_id = $2`,
			r.SessionID, r.SKUID, r.Qty, shrink)
		if recarved {
			queueFlashStock(w, []string{r.SKUID}, []int64{int64(r.Qty)}, inventory.Reserve, flashRef(r.SessionID), at)
		}
		return w, nil
	})
	if errors.Is(err, errNothingToWrite) {
		return false, nil
	}
	if err != nil {
		if _, ok := errs.As(err); ok {
			return false, err
		}
		return false, errs.Wrap(err, "flashsale: release reservation %s", id)
	}
	return recarved, nil
}

// releaseFacts is what a release decides on, read under its locks.
type releaseFacts struct {
	reservation *flashsale.Reservation // nil: none
	status      string                 // the session's
	available   int64                  // the SKU's online units not reserved
	stocked     bool                   // the SKU has an online stock level
}

// queueReleaseFacts queues, in lock order, the lock of the reservation, of
// its SKU row and (to recarve) of the SKU's online stock level, and the
// read of the session's status after the SKU row's lock.
func queueReleaseFacts(b *pgx.Batch, id string, recarve bool) *releaseFacts {
	f := &releaseFacts{}
	b.Queue(`SELECT `+flashReservationColumns+` FROM flash_reservations WHERE id = $1 FOR UPDATE`, id).
		QueryRow(func(row pgx.Row) error {
			r, err := scanFlashReservation(row)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			f.reservation = r
			return err
		})
	b.Queue(`SELECT 1 FROM flash_session_skus k JOIN flash_reservations r ON r.session_id = k.session_id AND r.sku_id = k.sku_id
		WHERE r.id = $1 FOR NO KEY UPDATE OF k`, id)
	b.Queue(`SELECT s.status FROM flash_sessions s JOIN flash_reservations r ON r.session_id = s.id WHERE r.id = $1`, id).
		QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&f.status); !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			return nil
		})
	if recarve {
		b.Queue(`SELECT l.on_hand - l.reserved FROM stock_levels l JOIN flash_reservations r ON r.sku_id = l.sku_id
			WHERE r.id = $1 AND l.location = $2 FOR NO KEY UPDATE OF l`, id, inventory.Online).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&f.available)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			f.stocked = err == nil
			return err
		})
	}
	return f
}

func scanFlashSession(row pgx.Row) (*flashsale.Session, error) {
	var (
		fs        flashsale.Session
		payWindow int64
		status    string
	)
	if err := row.Scan(&fs.ID, &fs.Name, &fs.WarmupAt, &fs.StartsAt, &fs.EndsAt, &payWindow, &status, &fs.CreatedBy,
		&fs.CreatedAt, &fs.UpdatedAt); err != nil {
		return nil, err
	}
	fs.PayWindow, fs.Status = time.Duration(payWindow)*time.Second, flashsale.Status(status)
	// pgx reads timestamptz in the local zone; siyu's times are UTC.
	fs.StartsAt, fs.EndsAt, fs.CreatedAt, fs.UpdatedAt = fs.StartsAt.UTC(), fs.EndsAt.UTC(), fs.CreatedAt.UTC(), fs.UpdatedAt.UTC()
	if fs.WarmupAt != nil {
		*fs.WarmupAt = fs.WarmupAt.UTC()
	}
	return &fs, nil
}

// scanFlashSKUs reads session SKU rows keyed by session, each session's in
// the order it was created with, and closes rows.
func scanFlashSKUs(rows pgx.Rows) (map[string][]flashsale.SessionSKU, error) {
	defer rows.Close()
	type positioned struct {
		pos int
		k   flashsale.SessionSKU
	}
	bySession := map[string][]positioned{}
	for rows.Next() {
		var (
			sessionID string
			p         positioned
		)
		if err := rows.Scan(&sessionID, &p.pos, &p.k.SKUID, &p.k.Price, &p.k.Quota, &p.k.Limit, &p.k.Won); err != nil {
			return nil, err
		}
		bySession[sessionID] = append(bySession[sessionID], p)
	}
	out := make(map[string][]flashsale.SessionSKU, len(bySession))
	for id, ps := range bySession {
		slices.SortFunc(ps, func(a, b positioned) int { return a.pos - b.pos })
		skus := make([]flashsale.SessionSKU, len(ps))
		for i, p := range ps {
			skus[i] = p.k
		}
		out[id] = skus
	}
	return out, rows.Err()
}

func scanFlashReservation(row pgx.Row) (*flashsale.Reservation, error) {
	var (
		r       flashsale.Reservation
		status  string
		orderID *string
	)
	if err := row.Scan(&r.ID, &r.SessionID, &r.SKUID, &r.BuyerID, &r.Qty, &status, &orderID, &r.Reason,
		&r.WonAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.Status = flashsale.ReservationStatus(status)
	if orderID != nil {
		r.OrderID = *orderID
	}
	r.WonAt, r.UpdatedAt = r.WonAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}
