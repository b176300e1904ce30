package sqlite

import "context"

// ExecRaw runs one statement on the writer, for an external test that must
// run a migration's SQL again (the price record seeds of 0021).
func ExecRaw(s *Store, ctx context.Context, q string) error {
	_, err := s.w.ExecContext(ctx, q)
	return err
}
