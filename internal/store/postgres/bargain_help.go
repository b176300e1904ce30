package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

func scanBargainHelp(row pgx.Row) (*bargain.Help, error) {
	var (
		h       bargain.Help
		amount  int64
		status  string
		slot    *int32
		reasons []string
	)
	if err := row.Scan(&h.ID, &h.BargainID, &h.HelperID, &h.HelperSince, &h.DeviceID, &h.IP, &slot, &amount,
		&status, &reasons, &h.CreatedAt, &h.DecidedAt, &h.DecidedBy); err != nil {
		return nil, err
	}
	if slot != nil {
		n := int(*slot)
		h.Slot = &n
	}
	h.Amount, h.Status, h.Reasons = money.Fen(amount), bargain.HelpStatus(status), append([]string{}, reasons...)
	bargainUTC(&h.HelperSince, &h.CreatedAt, h.DecidedAt)
	return &h, nil
}

// queueBargainHelpChange queues the writes of what a help rule decided.
func queueBargainHelpChange(w *pgx.Batch, b *bargain.Bargain, c bargain.HelpChange) {
	h := c.Help
	reasons := append([]string{}, h.Reasons...)
	switch {
	case c.Insert:
		w.Queue(`INSERT INTO bargain_helps (`+bargainHelpColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			h.ID, h.BargainID, h.HelperID, h.HelperSince, h.DeviceID, h.IP, h.Slot, int64(h.Amount), string(h.Status),
			reasons, h.CreatedAt, h.DecidedAt, h.DecidedBy)
	case c.Update:
		w.Queue(`UPDATE bargain_helps SET slot = $1, amount = $2, status = $3, reasons = $4, decided_at = $5,
			decided_by = $6 WHERE id = $7`,
			h.Slot, int64(h.Amount), string(h.Status), reasons, h.DecidedAt, h.DecidedBy, h.ID)
	}
	if c.Bargain {
		queueSaveBargain(w, b)
	}
	queueEvents(w, c.Events)
}

// bargainHelpCounts counts what the help rules read of the helper's, the device's
// and the address's recent helps.
const bargainHelpCounts = `SELECT
	(SELECT count(*) FROM bargain_helps WHERE helper_id = $1 AND created_at >= $5),
	(SELECT count(*) FROM bargain_helps WHERE helper_id = $1 AND created_at > $6),
	(SELECT count(*) FROM bargain_helps WHERE device_id = $2 AND created_at > $6),
	(SELECT count(*) FROM bargain_helps WHERE $3 <> '' AND ip = $3 AND created_at > $6),
	(SELECT count(DISTINCT bargain_id) FROM bargain_helps
		WHERE device_id = $2 AND created_at > $7 AND bargain_id <> $4),
	(SELECT count(DISTINCT helper_id) FROM bargain_helps
		WHERE device_id = $2 AND created_at > $7 AND helper_id <> $1)`

func (s *Store) HelpBargain(ctx context.Context, q bargain.HelpQuery, decide func(b *bargain.Bargain, f bargain.HelpFacts) (bargain.HelpChange, error)) (*bargain.Help, *bargain.Bargain, error) {
	if !ids.Valid(q.BargainID) {
		return nil, nil, bargain.ErrNotFound
	}
	r := &pgx.Batch{}
	// The helper first, then the bargain: the counts run before the
	// bargain's row is locked, so a hot bargain is held only for its own
	// reads and the writes.
	r.Queue(bargainLock, "bargain-helper:"+q.HelperID)
	var f bargain.HelpFacts
	r.Queue(bargainHelpCounts, q.HelperID, q.DeviceID, q.IP, q.BargainID, q.DayStart, q.RateSince, q.WatchSince).
		QueryRow(func(row pgx.Row) error {
			return row.Scan(&f.HelperToday, &f.HelperRecent, &f.DeviceRecent, &f.IPRecent, &f.DeviceBargains, &f.DeviceHelpers)
		})
	b, found := queueLoadBargain(r, "$1", q.BargainID)
	queueLoadBargainHelp(r, &f.Existing, `bargain_id = $1 AND helper_id = $2`, q.BargainID, q.HelperID)
	queueBargainNewAccountHelps(r, q.BargainID, q.NewSince, &f.Helps)
	var help *bargain.Help
	err := s.readThenCommit(ctx, r, func() (*pgx.Batch, error) {
		if !*found {
			return nil, bargain.ErrNotFound
		}
		c, err := decide(b, f)
		if err != nil {
			return nil, err
		}
		help = c.Help
		if !c.Insert && !c.Update && !c.Bargain && len(c.Events) == 0 {
			return nil, errNothingToWrite
		}
		w := &pgx.Batch{}
		queueBargainHelpChange(w, b, c)
		return w, nil
	})
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
	if err != nil {
		return nil, nil, errs.Wrap(err, "bargain: help %s", q.BargainID)
	}
	return help, b, nil
}

// queueLoadBargainHelp queues the read of the help matching where into
// *out, left nil if there is none.
func queueLoadBargainHelp(bt *pgx.Batch, out **bargain.Help, where string, args ...any) {
	bt.Queue(`SELECT `+bargainHelpColumns+` FROM bargain_helps WHERE `+where, args...).QueryRow(func(row pgx.Row) error {
		h, err := scanBargainHelp(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		*out = h
		return err
	})
}

// queueBargainNewAccountHelps queues the read of the helps of a bargain by
// accounts made after since, oldest first, into *out.
func queueBargainNewAccountHelps(bt *pgx.Batch, bargainID string, since time.Time, out *[]bargain.Help) {
	bt.Queue(`SELECT `+bargainHelpColumns+` FROM bargain_helps WHERE bargain_id = $1 AND helper_since > $2
		ORDER BY created_at, id`, bargainID, since).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			h, err := scanBargainHelp(rows)
			if err != nil {
				return err
			}
			*out = append(*out, *h)
		}
		return rows.Err()
	})
}

func (s *Store) DecideBargainHelp(ctx context.Context, helpID string, decide func(h *bargain.Help, b *bargain.Bargain) (bargain.HelpChange, error)) (*bargain.Help, *bargain.Bargain, error) {
	if !ids.Valid(helpID) {
		return nil, nil, bargain.ErrHelpNotFound
	}
	r := &pgx.Batch{}
	// The help's bargain never changes: it is locked first, then the help,
	// the order every writer of a bargain's helps takes.
	b, found := queueLoadBargain(r, `(SELECT bargain_id FROM bargain_helps WHERE id = $1)`, helpID)
	var h *bargain.Help
	queueLoadBargainHelp(r, &h, `id = $1 FOR UPDATE`, helpID)
	var help *bargain.Help
	err := s.readThenCommit(ctx, r, func() (*pgx.Batch, error) {
		if !*found || h == nil {
			return nil, bargain.ErrHelpNotFound
		}
		c, err := decide(h, b)
		if err != nil {
			return nil, err
		}
		help = c.Help
		w := &pgx.Batch{}
		queueBargainHelpChange(w, b, c)
		return w, nil
	})
	if err != nil {
		return nil, nil, errs.Wrap(err, "bargain: decide help %s", helpID)
	}
	return help, b, nil
}

func (s *Store) BargainHelps(ctx context.Context, f bargain.HelpFilter) (bargain.HelpPage, error) {
	limit := bargainPageLimit(f.Limit)
	if f.BargainID != "" && !ids.Valid(f.BargainID) {
		return bargain.HelpPage{Helps: []bargain.Help{}}, nil
	}
	var n newest
	n.eq("status", string(f.Status))
	n.eq("bargain_id", f.BargainID)
	if err := n.after(bargainHelpCursor, f.Cursor); err != nil {
		return bargain.HelpPage{}, bargain.ErrBadCursor
	}
	q, args := n.query(bargainHelpColumns, "bargain_helps", limit)
	page := bargain.HelpPage{Helps: []bargain.Help{}}
	err := scanBargainRows(ctx, s.pool, q, args, func(r pgx.Row) error {
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
		func(h *bargain.Help) (int64, string) { return h.CreatedAt.UnixMicro(), h.ID })
	return page, nil
}
