package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "migrate [flags]", stderr)
	load := configFlags(fs, false)
	if err := fs.Parse(args); err != nil {
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
	n, err := a.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d migrations applied; the schema is current\n", n)
	return nil
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: siyu admin create --email EMAIL --role owner|operator|finance|reviewer [--password-stdin]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("admin: the only subcommand is create")
	}
	fs := newFlagSet("admin create", "admin create --email EMAIL --role ROLE [flags]", stderr)
	email := fs.String("email", "", "the operator's email (their login)")
	role := fs.String("role", "", "owner, operator, finance or reviewer")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of generating one")
	load := configFlags(fs, false)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if *email == "" || *role == "" {
		fs.Usage()
		return errors.New("admin create: --email and --role are required")
	}
	if !identity.Role(*role).Valid() {
		return fmt.Errorf("admin create: --role %q: want owner, operator, finance or reviewer", *role)
	}
	password := "op-" + ids.Token(10)
	if *fromStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
	}
	a, err := start(ctx, cfg, true, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	op, err := a.Identity.CreateOperator(ctx, *email, password, identity.Role(*role))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (id %s)\n", op.Role, op.Email, op.ID)
	if !*fromStdin {
		fmt.Fprintf(stdout, "password: %s\n(shown once; it is stored only as an argon2id hash)\n", password)
	}
	return nil
}
