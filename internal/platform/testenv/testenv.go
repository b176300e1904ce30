// Package testenv tells tests which real services they may use. A suite that
// needs PostgreSQL, Redis or NATS skips when its variable is unset, so `go
// test ./...` passes on a bare machine; under CI (CI=true) a missing variable
// fails the test instead, so a suite can never silently not run.
package testenv

import (
	"os"
	"testing"
)

// Variables naming the services' test addresses.
const (
	PostgresVar = "SIYU_TEST_DATABASE_URL"
	RedisVar    = "SIYU_TEST_REDIS_URL"
	NATSVar     = "SIYU_TEST_NATS_URL"
)

// Need returns the value of the variable, skipping the test when it is unset
// (failing it under CI).
func Need(t testing.TB, variable string) string {
	t.Helper()
	v := os.Getenv(variable)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run this suite", variable)
		}
		t.Skipf("%s not set: skipping the suite that needs it", variable)
	}
	return v
}
