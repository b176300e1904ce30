// Package errs is siyu's one error type. An error carries a Kind (what sort
// of failure: the HTTP layer maps it to a status), a stable Code clients can
// switch on, the offending Field for validation errors, a Message that is safe
// to show a client, and the wrapped cause, which is never shown.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error.
type Kind uint8

const (
	Internal      Kind = iota // a bug or an unexpected failure; details are logged, never shown
	Invalid                   // the request is malformed or breaks a rule of the input
	Unauthorized              // no valid credentials
	Forbidden                 // credentials valid, action not allowed
	NotFound                  // no such object, or not the caller's
	Conflict                  // the object's state does not allow it (out of stock, already paid)
	Unprocessable             // well-formed but refused (idempotency key reused with another body)
	TooLarge                  // request body over the limit
	TooMany                   // rate limited
	Unavailable               // a dependency is down; retry later
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthorized:
		return "unauthorized"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Unprocessable:
		return "unprocessable"
	case TooLarge:
		return "too_large"
	case TooMany:
		return "too_many"
	case Unavailable:
		return "unavailable"
	}
	return "internal"
}

// Error is a siyu error.
type Error struct {
	Kind    Kind
	Code    string // stable machine-readable code, e.g. "out_of_stock"
	Field   string // the offending input field, for validation errors
	Message string // safe for clients
	Err     error  // the cause; logged, never shown
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		if msg == "" {
			return e.Err.Error()
		}
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of kind with a code and a client-safe message.
func E(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field builds a validation error for one field.
func Field(field, code, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an internal error wrapping err with context for the logs.
func Wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: Internal, Code: "internal", Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of the first *Error in err's chain that is not
// Internal, or Internal.
func KindOf(err error) Kind {
	var e *Error
	for err != nil {
		if errors.As(err, &e) {
			if e.Kind != Internal {
				return e.Kind
			}
			err = e.Err
			continue
		}
		return Internal
	}
	return Internal
}

// As returns the first *Error in err's chain that is not Internal, if any.
func As(err error) (*Error, bool) {
	var e *Error
	for err != nil {
		if !errors.As(err, &e) {
			return nil, false
		}
		if e.Kind != Internal {
			return e, true
		}
		err = e.Err
	}
	return nil, false
}

// Is reports whether err carries the given code.
func Is(err error, code string) bool {
	e, ok := As(err)
	return ok && e.Code == code
}

// List collects field errors so a converter can report all of them at once.
type List []*Error

// Add appends a field error.
func (l *List) Add(field, code, format string, args ...any) {
	*l = append(*l, Field(field, code, format, args...))
}

// Err returns nil if the list is empty, the single error if there is one,
// or a ValidationError holding them all.
func (l List) Err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return &Error{Kind: Invalid, Code: "validation_failed", Field: l[0].Field,
		Message: fmt.Sprintf("%d fields are invalid", len(l)), Err: Multi(l)}
}

// Multi is the cause of a validation error with several fields.
type Multi []*Error

func (m Multi) Error() string {
	s := ""
	for i, e := range m {
		if i > 0 {
			s += "; "
		}
		s += e.Error()
	}
	return s
}

// Fields returns the per-field errors carried by err, if it is a validation
// error: one for a single field, all of them for several.
func Fields(err error) []*Error {
	e, ok := As(err)
	if !ok || e.Kind != Invalid {
		return nil
	}
	var m Multi
	if errors.As(e.Err, &m) {
		return m
	}
	if e.Field != "" {
		return []*Error{e}
	}
	return nil
}
