package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem found in a cerebrium.toml (or in the Dockerfile it
// points at).
type Error struct {
	// File is the file as it was named to Load or Parse.
	File string
	// Line and Col are 1-based; both are 0 when the problem has no position
	// (for example a required key missing from a file that has no table to
	// point at). Col counts characters, not bytes.
	Line, Col int
	// Field is the dotted key path, like "cerebrium.scaling.cooldown", with
	// "[i]" for list elements. Empty for syntax errors.
	Field string
	// Message says what is wrong and what would be accepted.
	Message string
}

// Error renders the problem as "FILE:LINE:COL: FIELD: MESSAGE", leaving out
// the position when there is none and the field when it is empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Col))
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in one file, ordered by position. Load and
// Parse return it (as an error) when the file does not load.
type Errors []*Error

// Error renders one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders errors by position; errors without a position come last,
// each group keeping the order in which the problems were found.
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Col, b.Col)
	})
}
