package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

func scanBargainHelp(row bargainRow) (*bargain.Help, error) {
	var (
		h               bargain.Help
		since, created  int64
		slot            sql.NullInt64
		decided         sql.NullInt64
		amount          int64
		status, reasons string
	)
	if err := row.Scan(&h.ID, &h.BargainID, &h.HelperID, &since, &h.DeviceID, &h.IP, &slot, &amount, &status,
		&reasons, &created, &decided, &h.DecidedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(reasons), &h.Reasons); err != nil {
		return nil, err
	}
	if slot.Valid {
		n := int(slot.Int64)
		h.Slot = &n
	}
	h.HelperSince, h.CreatedAt, h.DecidedAt = fromTS(since), fromTS(created), fromTSPtr(decided)
	h.Amount, h.Status = money.Fen(amount), bargain.HelpStatus(status)
	return &h, nil
}

func bargainHelpReasons(h *bargain.Help) (string, error) {
	b, err := json.Marshal(append(make([]string, 0, len(h.Reasons)), h.Reasons...))
	return string(b), err
}

func bargainHelpSlot(h *bargain.Help) any {
	if h.Slot == nil {
		return nil
	}
	return *h.Slot
}

// writeBargainHelpChange writes what a help rule decided.
func writeBargainHelpChange(ctx context.Context, tx *sql.Tx, b *bargain.Bargain, c bargain.HelpChange) error {
	reasons, err := bargainHelpReasons(c.Help)
	if err != nil {
		return err
	}
	h := c.Help
	switch {
	case c.Insert:
		_, err = tx.ExecContext(ctx, `INSERT INTO bargain_helps (`+bargainHelpColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.BargainID, h.HelperID, ts(h.HelperSince), h.DeviceID, h.IP, bargainHelpSlot(h), int64(h.Amount),
			string(h.Status), reasons, ts(h.CreatedAt), tsPtr(h.DecidedAt), h.DecidedBy)
	case c.Update:
		_, err = tx.ExecContext(ctx, `UPDATE bargain_helps SET slot = ?, amount = ?, status = ?, reasons = ?,
			decided_at = ?, decided_by = ? WHERE id = ?`,
			bargainHelpSlot(h), int64(h.Amount), string(h.Status), reasons, tsPtr(h.DecidedAt), h.DecidedBy, h.ID)
	}
	if err != nil {
		return err
	}
	if c.Bargain {
		if err := saveBargain(ctx, tx, b); err != nil {
			return err
		}
	}
	return insertEvents(ctx, tx, c.Events)
}

// bargainHelpCounts counts what the help rules read of the helper's, the device's
// and the address's recent helps.
const bargainHelpCounts = `SELECT
	(SELECT count(*) FROM bargain_helps WHERE helper_id = :helper AND created_at >= :day),
	(SELECT count(*) FROM bargain_helps WHERE helper_id = :helper AND created_at > :rate),
	(SELECT count(*) FROM bargain_helps WHERE device_id = :device AND created_at > :rate),
	(SELECT count(*) FROM bargain_helps WHERE :ip <> '' AND ip = :ip AND created_at > :rate),
	(SELECT count(DISTINCT bargain_id) FROM bargain_helps
		WHERE device_id = :device AND created_at > :watch AND bargain_id <> :bargain),
	(SELECT count(DISTINCT helper_id) FROM bargain_helps
		WHERE device_id = :device AND created_at > :watch AND helper_id <> :helper)`

func (s *Store) HelpBargain(ctx context.Context, q bargain.HelpQuery, decide func(b *bargain.Bargain, f bargain.HelpFacts) (bargain.HelpChange, error)) (*bargain.Help, *bargain.Bargain, error) {
	var (
		help *bargain.Help
		out  *bargain.Bargain
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b, err := loadBargain(ctx, tx, `id = ?`, q.BargainID)
		if err != nil {
			return err
		}
		var f bargain.HelpFacts
		if err := tx.QueryRowContext(ctx, bargainHelpCounts, sql.Named("helper", q.HelperID), sql.Named("device", q.DeviceID),
			sql.Named("ip", q.IP), sql.Named("bargain", q.BargainID), sql.Named("day", ts(q.DayStart)),
			sql.Named("rate", ts(q.RateSince)), sql.Named("watch", ts(q.WatchSince))).
			Scan(&f.HelperToday, &f.HelperRecent, &f.DeviceRecent, &f.IPRecent, &f.DeviceBargains, &f.DeviceHelpers); err != nil {
			return err
		}
		f.Existing, err = scanBargainHelp(tx.QueryRowContext(ctx, `SELECT `+bargainHelpColumns+` FROM bargain_helps
			WHERE bargain_id = ? AND helper_id = ?`, b.ID, q.HelperID))
		if errors.Is(err, sql.ErrNoRows) {
			f.Existing, err = nil, nil
		}
		if err != nil {
			return err
		}
		if f.Helps, err = bargainNewAccountHelps(ctx, tx, b.ID, q.NewSince); err != nil {
			return err
		}
		c, err := decide(b, f)
		if err != nil {
			return err
		}
		help, out = c.Help, b
		return writeBargainHelpChange(ctx, tx, b, c)
	})
	if err != nil {
		return nil, nil, errs.Wrap(err, "bargain: help %s", q.BargainID)
	}
	return help, out, nil
}

// bargainNewAccountHelps reads the helps of a bargain by accounts made after
// since, oldest first.
func bargainNewAccountHelps(ctx context.Context, db bargainDB, bargainID string, since time.Time) ([]bargain.Help, error) {
	var out []bargain.Help
	err := scanBargainRows(ctx, db, `SELECT `+bargainHelpColumns+` FROM bargain_helps
		WHERE bargain_id = ? AND helper_since > ? ORDER BY created_at, id`, []any{bargainID, ts(since)}, func(r bargainRow) error {
		h, err := scanBargainHelp(r)
		if err == nil {
			out = append(out, *h)
		}
		return err
	})
	return out, err
}

func (s *Store) DecideBargainHelp(ctx context.Context, helpID string, decide func(h *bargain.Help, b *bargain.Bargain) (bargain.HelpChange, error)) (*bargain.Help, *bargain.Bargain, error) {
	var (
		help *bargain.Help
		out  *bargain.Bargain
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		h, err := scanBargainHelp(tx.QueryRowContext(ctx, `SELECT `+bargainHelpColumns+` FROM bargain_helps WHERE id = ?`, helpID))
		if errors.Is(err, sql.ErrNoRows) {
			return bargain.ErrHelpNotFound
		}
		if err != nil {
			return err
		}
		b, err := loadBargain(ctx, tx, `id = ?`, h.BargainID)
		if err != nil {
			return err
		}
		c, err := decide(h, b)
		if err != nil {
			return err
		}
		help, out = c.Help, b
		return writeBargainHelpChange(ctx, tx, b, c)
	})
	if err != nil {
		return nil, nil, errs.Wrap(err, "bargain: decide help %s", helpID)
	}
	return help, out, nil
}

func (s *Store) BargainHelps(ctx context.Context, f bargain.HelpFilter) (bargain.HelpPage, error) {
	limit := bargainPageLimit(f.Limit)
	var n newest
	n.eq("status", string(f.Status))
	n.eq("bargain_id", f.BargainID)
	if err := n.after(bargainHelpCursor, f.Cursor); err != nil {
		return bargain.HelpPage{}, bargain.ErrBadCursor
	}
	q, args := n.query(bargainHelpColumns, "bargain_helps", limit)
	page := bargain.HelpPage{Helps: []bargain.Help{}}
	err := scanBargainRows(ctx, s.r, q, args, func(r bargainRow) error {
		h, err := scanBargainHelp(r)
		if err == nil {
			page.Helps = append(page.Helps, *h)
		}
		return err
	})
	if err != nil {
		return bargain.HelpPage{}, errs.Wrap(err, "bargain: list helps")
	}
	page.Helps, page.NextCursor = cursor.Page(bargainHelpCursor, page.Helps, limit,
		func(h *bargain.Help) (int64, string) { return ts(h.CreatedAt), h.ID })
	return page, nil
}
