package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/siyu-commerce/siyu/internal/platform/config"
)

// configFlags reads the configuration from the environment and registers the
// flags that override it on fs. Call the returned function after fs.Parse.
func configFlags(fs *flag.FlagSet, server bool) func() (config.Config, error) {
	cfg, envErr := config.FromEnv(os.Getenv)
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database: sqlite:PATH or postgres://... (SIYU_DATABASE_URL)")
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "sandbox or production (SIYU_MODE)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the sandbox key and demo credentials (SIYU_DATA_DIR)")
	if server {
		fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (SIYU_ADDR)")
		fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (SIYU_LOG_LEVEL)")
	}
	return func() (config.Config, error) {
		if envErr != nil {
			return cfg, envErr
		}
		return cfg, cfg.Validate()
	}
}

func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: siyu %s\n\n", usage)
		fs.PrintDefaults()
	}
	return fs
}
