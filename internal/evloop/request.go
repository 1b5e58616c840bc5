//go:build linux

package evloop

import "bytes"

// maxHead is the largest request head the loops take; a longer one is
// handed off (net/http allows up to 1 MB).
const maxHead = 16 << 10

// parseRequest results besides a head length.
const (
	needMore = -1 // the head is not complete yet
	notOurs  = -2 // valid or not, the request is for the general path
)

// span is a slice of a buffer, by offsets, so that it survives the buffer
// moving.
type span struct{ off, end int }

func (s span) of(b []byte) []byte { return b[s.off:s.end] }

// request is what the loop knows of a parsed request. Spans point into the
// client's buffer, where the request stays until it is answered.
type request struct {
	total      int // head and body; 0 until the head is parsed
	headLen    int
	method     span
	target     span
	host       span // the Host value
	bodyLen    int  // -1: no Content-Length
	close      bool // Connection: close
	isHead     bool
	idempotent bool // safe to send twice: the method, or an Idempotency-Key
	reqID      span // the X-Request-Id value, if any
	hasReqID   bool
	hasProto   bool // X-Forwarded-Proto was sent
	hasFwdHost bool // X-Forwarded-Host was sent
}

// path is the target without its query.
func (r *request) path(b []byte) []byte {
	t := r.target.of(b)
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		t = t[:i]
	}
	return t
}

// header kinds, for the headers the loop looks at.
type hkind uint8

const (
	hOther   hkind = iota
	hHost          // Host
	hLength        // Content-Length
	hConn          // Connection
	hHop           // hop-by-hop, dropped: Keep-Alive, Proxy-Connection, TE, Trailer, Proxy-Authenticate, Proxy-Authorization
	hXFF           // X-Forwarded-For, merged into one with the client's address
	hXFProto       // X-Forwarded-Proto
	hXFHost        // X-Forwarded-Host
	hReqID         // X-Request-Id
	hNotOurs       // Transfer-Encoding, Upgrade, Expect: the general path's
	hIdemKey       // (X-)Idempotency-Key: the request may be resent, as a GET may
)

func classify(name []byte) hkind {
	switch len(name) {
	case 2:
		if eqFold(name, "te") {
			return hHop
		}
	case 4:
		if eqFold(name, "host") {
			return hHost
		}
	case 6:
		if eqFold(name, "expect") {
			return hNotOurs
		}
	case 7:
		if eqFold(name, "trailer") {
			return hHop
		}
		if eqFold(name, "upgrade") {
			return hNotOurs
		}
	case 10:
		if eqFold(name, "connection") {
			return hConn
		}
		if eqFold(name, "keep-alive") {
			return hHop
		}
	case 12:
		if eqFold(name, "x-request-id") {
			return hReqID
		}
	case 14:
		if eqFold(name, "content-length") {
			return hLength
		}
	case 15:
		if eqFold(name, "x-forwarded-for") {
			return hXFF
		}
		if eqFold(name, "idempotency-key") {
			return hIdemKey
		}
	case 16:
		if eqFold(name, "proxy-connection") {
			return hHop
		}
		if eqFold(name, "x-forwarded-host") {
			return hXFHost
		}
	case 17:
		if eqFold(name, "transfer-encoding") {
			return hNotOurs
		}
		if eqFold(name, "x-forwarded-proto") {
			return hXFProto
		}
		if eqFold(name, "x-idempotency-key") {
			return hIdemKey
		}
	case 18:
		if eqFold(name, "proxy-authenticate") {
			return hHop
		}
	case 19:
		if eqFold(name, "proxy-authorization") {
			return hHop
		}
	}
	return hOther
}

// eqFold compares b with the lower-case ASCII string s, ignoring case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// tchar reports whether c may appear in a token (RFC 9110 §5.6.2).
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validTarget reports whether an origin-form target is one net/http reads:
// printable ASCII, and every '%' in the path (before any '?') followed by
// two hex digits.
func validTarget(t []byte) bool {
	query := false
	for i, c := range t {
		switch {
		case c <= ' ' || c >= 0x7f:
			return false
		case c == '?':
			query = true
		case c == '%' && !query:
			if i+2 >= len(t) || unhex(t[i+1]) > 15 || unhex(t[i+2]) > 15 {
				return false
			}
		}
	}
	return true
}

// parseRequest parses the request head at the start of b. It returns the
// head's length (and fills r), needMore, or notOurs for anything the loops
// leave to the general path: other versions, forms and framings, and every
// malformed request (the general path answers those 400).
func parseRequest(b []byte, r *request, maxBody int) int {
	*r = request{bodyLen: -1}
	// Request line: METHOD SP origin-form SP HTTP/1.1 CRLF
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		return needMore
	}
	if eol == 0 || b[eol-1] != '\r' {
		return notOurs
	}
	line := b[:eol-1]
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return notOurs
	}
	for _, c := range line[:sp] {
		if !tchar[c] {
			return notOurs
		}
	}
	r.method = span{0, sp}
	rest := line[sp+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 || rest[0] != '/' || string(rest[sp2+1:]) != "HTTP/1.1" {
		return notOurs
	}
	if !validTarget(rest[:sp2]) {
		return notOurs
	}
	r.target = span{sp + 1, sp + 1 + sp2}
	m := line[:sp]
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		r.idempotent = true
		r.isHead = string(m) == "HEAD"
	case "CONNECT", "PRI":
		return notOurs
	}

	hosts := 0
	pos := eol + 1
	for {
		eol := bytes.IndexByte(b[pos:], '\n')
		if eol < 0 {
			return needMore
		}
		eol += pos
		if eol == pos || b[eol-1] != '\r' {
			return notOurs
		}
		line := b[pos : eol-1]
		if len(line) == 0 {
			pos = eol + 1
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return notOurs
		}
		name := line[:colon]
		for _, c := range name {
			if !tchar[c] {
				return notOurs
			}
		}
		vs, ve := pos+colon+1, eol-1
		for vs < ve && (b[vs] == ' ' || b[vs] == '\t') {
			vs++
		}
		for ve > vs && (b[ve-1] == ' ' || b[ve-1] == '\t') {
			ve--
		}
		for _, c := range b[vs:ve] {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return notOurs
			}
		}
		v := b[vs:ve]
		switch classify(name) {
		case hNotOurs:
			return notOurs
		case hHost:
			hosts++
			r.host = span{vs, ve}
		case hLength:
			n, ok := digits(v)
			if r.bodyLen >= 0 || !ok || n > int64(maxBody) {
				return notOurs
			}
			r.bodyLen = int(n)
		case hConn:
			for t := range bytes.SplitSeq(v, []byte{','}) {
				t = bytes.TrimSpace(t)
				switch {
				case len(t) == 0, eqFold(t, "keep-alive"):
				case eqFold(t, "close"):
					r.close = true
				default: // it names headers to drop: rare, the general path's
					return notOurs
				}
			}
		case hIdemKey:
			r.idempotent = true
		case hXFProto:
			r.hasProto = true
		case hXFHost:
			r.hasFwdHost = true
		case hReqID:
			if !r.hasReqID {
				r.hasReqID, r.reqID = true, span{vs, ve}
			}
		}
		pos = eol + 1
		if pos > maxHead {
			return notOurs
		}
	}
	if hosts != 1 {
		return notOurs
	}
	r.headLen = pos
	r.total = pos + max(r.bodyLen, 0)
	return pos
}

// appendUpstream appends the request as sent upstream: the request line and
// the end-to-end headers as received, then X-Forwarded-For (the client's
// address appended to any received), X-Forwarded-Proto and -Host when
// absent, X-Request-Id (id when the request had none), and the body.
func appendUpstream(dst, b []byte, r *request, clientIP string, id []byte) []byte {
	dst = append(dst, b[:r.target.end]...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	var xff []byte
	pos := bytes.IndexByte(b, '\n') + 1
	for pos < r.headLen-2 {
		eol := pos + bytes.IndexByte(b[pos:], '\n')
		line := b[pos : eol+1]
		colon := bytes.IndexByte(line, ':')
		switch classify(line[:colon]) {
		case hConn, hHop:
		case hXFF:
			v := bytes.TrimSpace(line[colon+1:])
			if len(v) > 0 {
				xff = append(append(xff, v...), ", "...)
			}
		default:
			dst = append(dst, line...)
		}
		pos = eol + 1
	}
	dst = append(dst, "X-Forwarded-For: "...)
	dst = append(dst, xff...)
	dst = append(dst, clientIP...)
	dst = append(dst, "\r\n"...)
	if !r.hasProto {
		dst = append(dst, "X-Forwarded-Proto: http\r\n"...)
	}
	if !r.hasFwdHost {
		dst = append(dst, "X-Forwarded-Host: "...)
		dst = append(dst, r.host.of(b)...)
		dst = append(dst, "\r\n"...)
	}
	if !r.hasReqID {
		dst = append(dst, "X-Request-Id: "...)
		dst = append(dst, id...)
		dst = append(dst, "\r\n"...)
	}
	if r.bodyLen < 0 {
		switch string(r.method.of(b)) {
		case "POST", "PUT", "PATCH":
			dst = append(dst, "Content-Length: 0\r\n"...)
		}
	}
	dst = append(dst, "\r\n"...)
	return append(dst, b[r.headLen:r.total]...)
}
