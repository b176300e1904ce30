package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindSurvivesWrapping(t *testing.T) {
	base := E(Conflict, "out_of_stock", "not enough stock")
	wrapped := fmt.Errorf("placing order: %w", Wrap(base, "store"))
	if KindOf(wrapped) != Conflict || !Is(wrapped, "out_of_stock") {
		t.Fatalf("kind %v, code lost in %v", KindOf(wrapped), wrapped)
	}
	if KindOf(errors.New("boom")) != Internal || KindOf(nil) != Internal {
		t.Fatal("a plain error must be internal")
	}
	if _, ok := As(Wrap(errors.New("db down"), "query")); ok {
		t.Fatal("an internal error must not surface as a client error")
	}
}

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add("qty", "qty_out_of_range", "qty must be 1..99")
	if e, ok := As(l.Err()); !ok || e.Field != "qty" || len(Fields(l.Err())) != 1 {
		t.Fatalf("one field: %v", l.Err())
	}
	l.Add("sku_id", "invalid_id", "not an id")
	err := l.Err()
	fs := Fields(err)
	if KindOf(err) != Invalid || len(fs) != 2 || fs[1].Field != "sku_id" {
		t.Fatalf("two fields: %v -> %v", err, fs)
	}
	if Fields(E(NotFound, "x", "y")) != nil {
		t.Fatal("a not-found error has no field errors")
	}
}
