// Command siyu is the whole shop in one binary: the HTTP server, the demo,
// migrations and operator accounts. Settings come from SIYU_* variables, and
// flags override them; `siyu COMMAND --help` lists a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", "run the shop: HTTP APIs, background jobs and event delivery", runServe},
	{"demo", "run the shop with a demo catalogue and owner account (embedded SQLite by default)", runDemo},
	{"migrate", "apply database migrations and exit", runMigrate},
	{"admin", "manage operator accounts: admin create --email E --role R", runAdmin},
	{"ledger", "prove the ledger sound: ledger check", runLedger},
	{"rush", "load-test a flash sale in process, on loopback, and check nothing was oversold", runRush},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "siyu:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: siyu COMMAND [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nSettings come from SIYU_* variables (see README.md); `siyu COMMAND --help` lists flags.")
}
