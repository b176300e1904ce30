package crm

import (
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// Program is a compiled segment expression.
type Program struct{ p *vm.Program }

// MaxExprLen bounds an expression: a rule, not a program.
const MaxExprLen = 2000

// Compile type-checks an expression against Profile and requires a bool,
// so a bad one is refused when it is saved, with the compiler's message
// and position, never found out during a recompute.
func Compile(src string) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errs.Field("expr", "required", "the expression is required")
	}
	if utf8.RuneCountInString(src) > MaxExprLen {
		return nil, errs.Field("expr", "too_long", "at most %d characters", MaxExprLen)
	}
	p, err := expr.Compile(src, expr.Env(Profile{}), expr.AsBool())
	if err != nil {
		msg := err.Error()
		if fe, ok := err.(*file.Error); ok {
			// The position as line:column, and the message without expr's
			// source excerpt (which repeats the operator's own text).
			msg = fe.Message
			return nil, errs.Field("expr", "bad_expression", "%s (line %d, column %d)", msg, fe.Line, fe.Column+1)
		}
		return nil, errs.Field("expr", "bad_expression", "%s", msg)
	}
	return &Program{p: p}, nil
}

// Match runs the program on a profile with a reusable machine (one per
// goroutine: a recompute runs millions of matches). A runtime error, which
// a type-checked boolean expression rarely has, counts as no match.
func (p *Program) Match(m *vm.VM, pr *Profile) bool {
	out, err := m.Run(p.p, pr)
	if err != nil {
		return false
	}
	b, _ := out.(bool)
	return b
}
