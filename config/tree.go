package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2/unstable"
)

// valueKind is the TOML type of a value in the document tree.
type valueKind int

const (
	kindString valueKind = iota + 1
	kindInteger
	kindFloat
	kindBool
	kindDateTime
	kindArray
	kindTable
)

// value is one node of the document tree with its position: the tree the
// schema is checked against. Offsets are bytes into the document.
type value struct {
	kind valueKind
	// keyAt is the offset of the key that names this value (the last part of
	// a dotted key or header), or -1 for list elements.
	keyAt int
	// at is the offset of the value itself; for tables, of their key.
	at int
	// raw is the source text of a scalar, for messages.
	raw string

	str   string
	int   int64
	float float64
	bool  bool

	items []*value // kindArray

	fields map[string]*value // kindTable
	order  []string          // kindTable: keys in document order

	// path is the dotted key path of the value, for messages.
	path string

	// How a table came to be, for TOML's rules on redefinition.
	header     bool // [header]
	dotted     bool // created by a dotted key
	inline     bool // inline table: closed once written
	arrayTable bool // kindArray created by [[header]]
}

func newTable(keyAt int, path string) *value {
	return &value{kind: kindTable, keyAt: keyAt, at: keyAt, fields: map[string]*value{}, path: path}
}

// childPath is the dotted path of key name inside v.
func (v *value) childPath(name string) string {
	if v.path == "" {
		return quoteKey(name)
	}
	return v.path + "." + quoteKey(name)
}

func (v *value) set(key string, child *value) {
	v.fields[key] = child
	v.order = append(v.order, key)
}

// describe renders a value for "got ..." in messages.
func (v *value) describe() string {
	switch v.kind {
	case kindString:
		return "string " + strconv.Quote(v.str)
	case kindInteger:
		return "integer " + v.raw
	case kindFloat:
		return "float " + v.raw
	case kindBool:
		return "boolean " + v.raw
	case kindDateTime:
		return "date-time " + v.raw
	case kindArray:
		return "a list"
	case kindTable:
		return "a table"
	}
	return "a value"
}

// document is a parsed TOML file: its tree and what is needed to turn offsets
// into line:col.
type document struct {
	file       string
	data       []byte
	lineStarts []int
	root       *value
	errs       Errors
}

// position turns a byte offset into a 1-based line and character column.
func (d *document) position(off int) (line, col int) {
	if off < 0 {
		return 0, 0
	}
	off = min(off, len(d.data))
	lo, hi := 0, len(d.lineStarts)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if d.lineStarts[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1, utf8.RuneCount(d.data[d.lineStarts[lo]:off]) + 1
}

// errorAt records a problem at a byte offset (-1: no position).
func (d *document) errorAt(off int, field, format string, args ...any) {
	line, col := d.position(off)
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Col: col, Field: field, Message: fmt.Sprintf(format, args...)})
}

// parseDocument parses data into a tree, recording TOML syntax errors and
// TOML's structural errors (duplicate keys, tables defined twice) in d.errs.
// After a syntax error the tree is incomplete and ok is false.
func parseDocument(file string, data []byte) (d *document, ok bool) {
	d = &document{file: file, data: data, lineStarts: []int{0}, root: newTable(-1, "")}
	d.root.header = true
	for i, c := range data {
		if c == '\n' {
			d.lineStarts = append(d.lineStarts, i+1)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	current := d.root
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			if t := d.openTable(e, false); t != nil {
				current = t
			} else {
				current = newTable(-1, "") // keys go nowhere; the error is recorded
			}
		case unstable.ArrayTable:
			if t := d.openTable(e, true); t != nil {
				current = t
			} else {
				current = newTable(-1, "")
			}
		case unstable.KeyValue:
			d.keyValue(&p, current, e)
		}
	}
	if err := p.Error(); err != nil {
		var perr *unstable.ParserError
		off := -1
		msg := err.Error()
		if errors.As(err, &perr) {
			msg = perr.Message
			if perr.Highlight != nil {
				off = highlightOffset(&p, perr.Highlight)
			}
		}
		d.errorAt(off, "", "TOML syntax error: %s", friendlySyntax(msg))
		return d, false
	}
	return d, true
}

// friendlySyntax rewords the parser's messages for the most common slips.
func friendlySyntax(msg string) string {
	const startOfValue = " at start of value"
	switch {
	case msg == "unexpected character U+000A at start of value" || msg == "unexpected character U+000D at start of value":
		return "expected a value after '=' but the line ends"
	case strings.HasPrefix(msg, "unexpected character U+") && strings.HasSuffix(msg, startOfValue):
		// "unexpected character U+0068 'h' at start of value"
		if i := strings.IndexByte(msg, '\''); i >= 0 && i+1 < len(msg) {
			c := msg[i+1]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				return msg + "; strings must be quoted, like \"text\""
			}
		}
	}
	return msg
}

// highlightOffset finds where a parser error's highlight starts, without
// trusting it to be a slice of the input.
func highlightOffset(p *unstable.Parser, h []byte) (off int) {
	defer func() {
		if recover() != nil {
			off = -1
		}
	}()
	return int(p.Range(h).Offset)
}

type keyPart struct {
	name string
	at   int
}

func keyParts(it unstable.Iterator) []keyPart {
	var parts []keyPart
	for it.Next() {
		n := it.Node()
		parts = append(parts, keyPart{name: string(n.Data), at: int(n.Raw.Offset)})
	}
	return parts
}

// openTable handles [a.b.c] and [[a.b.c]], returning the table that the
// following keys go into, or nil after recording an error.
func (d *document) openTable(e *unstable.Node, array bool) *value {
	parts := keyParts(e.Key())
	if len(parts) == 0 {
		return nil
	}
	t := d.root
	for _, part := range parts[:len(parts)-1] {
		next, ok := d.descend(t, part)
		if !ok {
			return nil
		}
		t = next
	}
	last := parts[len(parts)-1]
	path := t.childPath(last.name)
	existing := t.fields[last.name]
	if array {
		switch {
		case existing == nil:
			arr := &value{kind: kindArray, keyAt: last.at, at: last.at, arrayTable: true, path: path}
			t.set(last.name, arr)
			existing = arr
		case existing.kind != kindArray || !existing.arrayTable:
			d.errorAt(last.at, path, "TOML: [[%s]] redefines the key defined at line %d", path, d.line(existing.keyAt))
			return nil
		}
		elem := newTable(last.at, fmt.Sprintf("%s[%d]", path, len(existing.items)))
		elem.header = true
		existing.items = append(existing.items, elem)
		return elem
	}
	switch {
	case existing == nil:
		nt := newTable(last.at, path)
		nt.header = true
		t.set(last.name, nt)
		return nt
	case existing.kind != kindTable || existing.header || existing.dotted || existing.inline:
		d.errorAt(last.at, path, "TOML: table [%s] is defined twice (first at line %d)", path, d.line(existing.keyAt))
		return nil
	default:
		existing.header = true
		existing.at, existing.keyAt = last.at, last.at
		return existing
	}
}

func (d *document) line(off int) int {
	l, _ := d.position(off)
	return l
}

// descend steps into the table named by part for a header or dotted key,
// creating it if needed.
func (d *document) descend(t *value, part keyPart) (*value, bool) {
	next := t.fields[part.name]
	path := t.childPath(part.name)
	switch {
	case next == nil:
		next = newTable(part.at, path)
		t.set(part.name, next)
		return next, true
	case next.kind == kindArray && next.arrayTable && len(next.items) > 0:
		return next.items[len(next.items)-1], true
	case next.kind != kindTable:
		d.errorAt(part.at, path, "TOML: already defined as %s at line %d, not a table", next.describe(), d.line(next.keyAt))
		return nil, false
	case next.inline:
		d.errorAt(part.at, path, "TOML: the inline table of line %d cannot be extended", d.line(next.keyAt))
		return nil, false
	}
	return next, true
}

// keyValue handles `a.b.c = value` inside table t.
func (d *document) keyValue(p *unstable.Parser, t *value, e *unstable.Node) {
	parts := keyParts(e.Key())
	if len(parts) == 0 {
		return
	}
	for _, part := range parts[:len(parts)-1] {
		existing := t.fields[part.name]
		if existing != nil && existing.kind == kindTable && existing.header && !existing.dotted {
			d.errorAt(part.at, t.childPath(part.name), "TOML: table [%s] (line %d) cannot be extended with a dotted key", t.childPath(part.name), d.line(existing.keyAt))
			return
		}
		next, ok := d.descend(t, part)
		if !ok {
			return
		}
		if existing == nil {
			next.dotted = true
		}
		t = next
	}
	last := parts[len(parts)-1]
	if existing := t.fields[last.name]; existing != nil {
		d.errorAt(last.at, t.childPath(last.name), "TOML: defined twice (first at line %d)", d.line(existing.keyAt))
		return
	}
	vn := e.Value()
	start := valueStart(p.Data(), parts[len(parts)-1], e)
	v := d.convert(p, vn, start, t.childPath(last.name))
	fixAt(v, start)
	v.keyAt = last.at
	t.set(last.name, v)
}

// valueStart finds the offset of the value of a key/value expression: after
// the last key part, blanks, '=' and blanks. The parser gives arrays no range,
// so this is how they get a position.
func valueStart(data []byte, last keyPart, e *unstable.Node) int {
	kvEnd := int(e.Raw.Offset + e.Raw.Length)
	i := last.at
	// Skip the key itself (bare or quoted).
	if i < len(data) && (data[i] == '"' || data[i] == '\'') {
		q := data[i]
		i++
		for i < len(data) && data[i] != q {
			if q == '"' && data[i] == '\\' {
				i++
			}
			i++
		}
		i++
	} else {
		for i < len(data) && isBareKeyChar(data[i]) {
			i++
		}
	}
	for i < len(data) && i < kvEnd && (data[i] == ' ' || data[i] == '\t' || data[i] == '=') {
		i++
	}
	return min(i, len(data))
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// convert turns a parser value node into a tree value. at is the offset to
// use when the node carries no range of its own (arrays).
func (d *document) convert(p *unstable.Parser, n *unstable.Node, at int, path string) *value {
	v := &value{keyAt: -1, at: at, path: path}
	if n.Kind != unstable.Array && (n.Raw.Length > 0 || n.Kind == unstable.InlineTable) {
		v.at = int(n.Raw.Offset)
	}
	switch n.Kind {
	case unstable.String:
		v.kind = kindString
		v.str = string(n.Data)
		v.raw = string(p.Raw(n.Raw))
	case unstable.Bool:
		v.kind = kindBool
		v.raw = string(n.Data)
		v.bool = v.raw == "true"
	case unstable.Integer:
		v.kind = kindInteger
		v.raw = string(n.Data)
		i, err := parseTOMLInt(v.raw)
		if err != nil {
			d.errorAt(v.at, path, "TOML: integer %s is out of range", v.raw)
		}
		v.int = i
	case unstable.Float:
		v.kind = kindFloat
		v.raw = string(n.Data)
		v.float = parseTOMLFloat(v.raw)
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		v.kind = kindDateTime
		v.raw = string(n.Data)
	case unstable.Array:
		v.kind = kindArray
		for it := n.Children(); it.Next(); {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			// A nested list has no range: it takes the position of its
			// first element, or of its parent when empty (see fixAt).
			elem := d.convert(p, c, -1, fmt.Sprintf("%s[%d]", path, len(v.items)))
			if v.at < 0 {
				v.at = elem.at
			}
			v.items = append(v.items, elem)
		}
	case unstable.InlineTable:
		v.kind = kindTable
		v.fields = map[string]*value{}
		v.inline = true
		for it := n.Children(); it.Next(); {
			c := it.Node()
			if c.Kind == unstable.KeyValue {
				d.keyValue(p, v, c)
			}
		}
	default:
		v.kind = kindString // unreachable for valid parser output
	}
	return v
}

// fixAt gives every value without a position (empty nested lists) the
// position of its parent.
func fixAt(v *value, at int) {
	if v.at < 0 {
		v.at = at
	}
	for _, item := range v.items {
		fixAt(item, v.at)
	}
}

func parseTOMLInt(s string) (int64, error) {
	s = strings.ReplaceAll(s, "_", "")
	neg := false
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "-"):
		s, neg = s[1:], true
	}
	base := 10
	if len(s) > 2 && s[0] == '0' {
		switch s[1] {
		case 'x':
			base, s = 16, s[2:]
		case 'o':
			base, s = 8, s[2:]
		case 'b':
			base, s = 2, s[2:]
		}
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, err
	}
	if neg {
		if u > 1<<63 {
			return 0, strconv.ErrRange
		}
		return -int64(u-1) - 1, nil
	}
	if u > math.MaxInt64 {
		return 0, strconv.ErrRange
	}
	return int64(u), nil
}

func parseTOMLFloat(s string) float64 {
	s = strings.ReplaceAll(s, "_", "")
	switch strings.TrimLeft(s, "+-") {
	case "inf":
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1)
		}
		return math.Inf(1)
	case "nan":
		return math.NaN()
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// quoteKey renders a key part as TOML would need it written.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		if !isBareKeyChar(k[i]) {
			return tomlString(k)
		}
	}
	return k
}

// tomlString renders s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f || r == utf8.RuneError {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
