package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// runLedger proves the book sound: every invariant of the ledger checked in
// the database. Any breach makes it fail, so a cron job or a deploy step can
// stop on it.
func runLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: siyu ledger check [flags]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("ledger: the only subcommand is check")
	}
	fs := newFlagSet("ledger check", "ledger check [flags]", stderr)
	load := configFlags(fs, false)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	a, err := start(ctx, cfg, false, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	// A check of an old schema would report missing tables, not the book.
	if n, err := a.Store.Pending(ctx); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("%d migrations are not applied: run siyu migrate first", n)
		}
		return fmt.Errorf("ledger check: %w", err)
	}
	breaches, err := a.Store.CheckLedger(ctx)
	if err != nil {
		return fmt.Errorf("ledger check: %w", err)
	}
	if len(breaches) > 0 {
		for _, b := range breaches {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", b.Rule, b.Ref, b.Detail)
		}
		return fmt.Errorf("ledger check: %d breaches", len(breaches))
	}
	st, err := a.Store.LedgerStats(ctx)
	if err != nil {
		return fmt.Errorf("ledger check: %w", err)
	}
	fmt.Fprintf(stdout, "ledger sound: %d transfers, %d accounts\n", st.Transfers, st.Accounts)
	return nil
}
