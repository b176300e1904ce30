package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/store"
)

func TestLedgerCheck(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "siyu.db")
	db := "--database-url=sqlite:" + path
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"ledger", "check", db}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "siyu migrate") {
		t.Fatalf("check before migrating: %v, want a pointer to siyu migrate", err)
	}
	if err := run(ctx, []string{"migrate", db}, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut.String())
	}

	s, err := store.Open(ctx, "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Not a payment: that would need the payment it names.
	err = s.PostTransfers(ctx, ledger.Transfer{ID: "adjustment:1", Kind: "adjustment",
		State: ledger.Posted, Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, 100), ledger.Cr(ledger.MerchantRevenue, 100)}})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"ledger", "check", db}, &out, &errOut); err != nil {
		t.Fatalf("check a sound book: %v\n%s%s", err, out.String(), errOut.String())
	}
	if got := out.String(); got != "ledger sound: 1 transfers, 4 accounts\n" {
		t.Fatalf("check printed %q", got)
	}

	// Corrupt one stored balance behind the ledger's back.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `UPDATE ledger_accounts SET posted_debits = 99 WHERE id = ?`, ledger.ClearingWeChat); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(ctx, []string{"ledger", "check", db}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "breaches") {
		t.Fatalf("check a corrupted book: %v, want breaches", err)
	}
	for _, want := range []string{ledger.RuleBalanceMismatch + "\t" + ledger.ClearingWeChat, ledger.RuleBalancesUnbalanced} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
