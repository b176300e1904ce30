// Package storetest is the conformance suite every store engine must pass:
// the same tests, against SQLite and against PostgreSQL, so the two engines
// cannot drift apart. Each domain's tests live in a file of their own and
// register themselves; an engine's test calls Run with a function that opens
// a fresh, migrated, empty store.
package storetest

import (
	"sort"
	"testing"

	"github.com/siyu-commerce/siyu/internal/store"
)

// Engine is everything a store engine implements.
type Engine = store.Engine

// Opener returns a fresh, migrated, empty store; it registers its own cleanup.
type Opener func(t testing.TB) Engine

var suites = map[string]func(t *testing.T, open Opener){}

// register adds a domain's tests to the suite.
func register(name string, fn func(t *testing.T, open Opener)) {
	if _, dup := suites[name]; dup {
		panic("storetest: suite registered twice: " + name)
	}
	suites[name] = fn
}

// Run runs every registered suite against an engine.
func Run(t *testing.T, open Opener) {
	names := make([]string, 0, len(suites))
	for n := range suites {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) { suites[n](t, open) })
	}
}
