//go:build linux

package evloop

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ebb-run/ebb/graceful"
)

// framing is how the end of a response body is found.
type framing uint8

const (
	frNone    framing = iota // no body (HEAD, 204, 304)
	frLength                 // Content-Length bytes
	frChunked                // chunked, relayed as it is
	frClose                  // until the upstream closes
)

// response is the state of relaying one response.
type response struct {
	headDone  bool
	fr        framing
	left      int64 // frLength: body bytes still to come
	chunks    chunkScanner
	keepAlive bool // the upstream connection may be reused afterwards
	done      bool // the whole response has been read
	read      int  // bytes received from the upstream for this request
}

var errMalformed = errors.New("malformed response")

// responseHead is what parseResponse learns of a response head.
type responseHead struct {
	code      int
	minor     byte // HTTP/1.minor
	length    int64
	chunked   bool
	teOther   bool
	connClose bool
	connKeep  bool
	drain     bool
	hasReqID  bool
	connNamed []string // headers the Connection header names (hop-by-hop)
}

// parseResponse parses the response head at the start of b and appends
// it, as sent to the client, to dst: the status line as HTTP/1.1, the
// end-to-end headers, X-Request-Id when the upstream set none, and
// Connection: close when closing. It returns the head's length in b, or 0
// when b does not hold a whole head yet.
func parseResponse(dst, b []byte, h *responseHead) (out []byte, n int, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return dst, 0, nil
	}
	*h = responseHead{length: -1}
	eol := bytes.IndexByte(b, '\n')
	if eol < 1 || b[eol-1] != '\r' {
		return dst, 0, errMalformed
	}
	line := b[:eol-1]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return dst, 0, errMalformed
	}
	h.minor = line[7]
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return dst, 0, errMalformed
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return dst, 0, errMalformed
	}
	h.code = code
	dst = append(dst, "HTTP/1.1"...)
	dst = append(dst, line[8:]...)
	dst = append(dst, "\r\n"...)
	headersAt := len(dst)

	pos := eol + 1
	for pos < end+2 {
		eol := pos + bytes.IndexByte(b[pos:], '\n')
		line := b[pos:eol]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[colon-1] == ' ' || line[colon-1] == '\t' {
			return dst, 0, errMalformed
		}
		name := line[:colon]
		v := bytes.Trim(line[colon+1:], " \t")
		keep := true
		switch len(name) {
		case 10:
			if eqFold(name, "connection") {
				keep = false
				for t := range bytes.SplitSeq(v, []byte{','}) {
					t = bytes.TrimSpace(t)
					switch {
					case eqFold(t, "close"):
						h.connClose = true
					case eqFold(t, "keep-alive"):
						h.connKeep = true
					case len(t) > 0:
						h.connNamed = append(h.connNamed, string(t))
					}
				}
			} else if eqFold(name, "keep-alive") {
				keep = false
			}
		case 14:
			if eqFold(name, "content-length") {
				n, ok := digits(v)
				if !ok || (h.length >= 0 && n != h.length) {
					return dst, 0, errMalformed
				}
				h.length = n
			}
		case 17:
			if eqFold(name, "transfer-encoding") {
				t := v
				if i := bytes.LastIndexByte(t, ','); i >= 0 {
					t = t[i+1:]
				}
				// The final coding decides (RFC 9112 §6.3).
				h.chunked = eqFold(bytes.TrimSpace(t), "chunked")
				h.teOther = !h.chunked
			}
		case 12:
			if eqFold(name, "x-request-id") {
				h.hasReqID = true
			}
		case len(graceful.DrainHeader):
			if eqFold(name, drainHeader) {
				h.drain = true
			}
		case 7:
			keep = !eqFold(name, "upgrade") && !eqFold(name, "trailer")
		case 2:
			keep = !eqFold(name, "te")
		case 16:
			keep = !eqFold(name, "proxy-connection")
		case 18:
			keep = !eqFold(name, "proxy-authenticate")
		case 19:
			keep = !eqFold(name, "proxy-authorization")
		}
		if keep {
			dst = append(dst, b[pos:eol+1]...)
		}
		pos = eol + 1
	}
	for _, name := range h.connNamed {
		dst = dropHeader(dst, headersAt, strings.ToLower(name))
	}
	if h.teOther {
		// Not framed by chunked: relayed until the close, without it.
		dst = dropHeader(dst, headersAt, "transfer-encoding")
	}
	if h.chunked || h.teOther {
		if h.length >= 0 {
			// RFC 9112 §6.3: Transfer-Encoding overrides Content-Length;
			// drop the length from the relayed head.
			dst = dropHeader(dst, headersAt, "content-length")
			h.length = -1
		}
	}
	return dst, end + 4, nil
}

// digits parses a Content-Length value: decimal digits only.
// drainHeader is graceful.DrainHeader, lower case, as eqFold wants it.
var drainHeader = strings.ToLower(graceful.DrainHeader)

func digits(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// dropHeader removes the header lines named name from head[from:].
func dropHeader(head []byte, from int, name string) []byte {
	out := head[:from]
	for pos := from; pos < len(head); {
		eol := pos + bytes.IndexByte(head[pos:], '\n')
		line := head[pos : eol+1]
		if colon := bytes.IndexByte(line, ':'); colon < 0 || !eqFold(line[:colon], name) {
			out = append(out, line...)
		}
		pos = eol + 1
	}
	return out
}

// framingOf decides how the body of a response to req ends.
func framingOf(h *responseHead, isHead bool) (framing, bool) {
	keep := h.minor != '0' && !h.connClose || h.minor == '0' && h.connKeep && !h.connClose
	switch {
	case isHead || h.code == 204 || h.code == 304:
		return frNone, keep
	case h.chunked:
		return frChunked, keep
	case h.teOther:
		return frClose, false
	case h.length >= 0:
		return frLength, keep
	}
	return frClose, false
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(code)
}

// chunkScanner follows a chunked body (RFC 9112 §7.1) relayed as it is, to
// find its end.
type chunkScanner struct {
	st     uint8
	n      int64 // bytes left in the current chunk, or its size as read
	digits int
	line   int // length of the current trailer line
}

const (
	csSize    = iota // chunk size digits
	csExt            // chunk extension, to the end of the line
	csSizeLF         // LF after the size line's CR
	csData           // chunk data
	csDataCR         // CR after the data
	csDataLF         // LF after the data
	csTrailer        // trailer lines, ended by an empty line
	csEndLF          // LF of the final empty line
	csDone
)

// scan consumes b and returns how many bytes belong to the body: all of b
// unless the body ends inside it.
func (s *chunkScanner) scan(b []byte) (int, error) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch s.st {
		case csSize:
			if h := unhex(c); h < 16 {
				if s.digits++; s.digits > 15 {
					return 0, errMalformed
				}
				s.n = s.n<<4 | int64(h)
				continue
			}
			if s.digits == 0 {
				return 0, errMalformed
			}
			switch c {
			case ';', ' ', '\t':
				s.st = csExt
			case '\r':
				s.st = csSizeLF
			case '\n':
				s.endSize()
			default:
				return 0, errMalformed
			}
		case csExt:
			switch c {
			case '\r':
				s.st = csSizeLF
			case '\n':
				s.endSize()
			}
		case csSizeLF:
			if c != '\n' {
				return 0, errMalformed
			}
			s.endSize()
		case csData:
			k := int64(len(b) - i)
			if k > s.n {
				k = s.n
			}
			s.n -= k
			i += int(k) - 1
			if s.n == 0 {
				s.st = csDataCR
			}
		case csDataCR:
			switch c {
			case '\r':
				s.st = csDataLF
			case '\n':
				s.st = csSize
			default:
				return 0, errMalformed
			}
		case csDataLF:
			if c != '\n' {
				return 0, errMalformed
			}
			s.st = csSize
		case csTrailer:
			switch {
			case c == '\r' && s.line == 0:
				s.st = csEndLF
			case c == '\n' && s.line == 0:
				s.st = csDone
				return i + 1, nil
			case c == '\n':
				s.line = 0
			default:
				s.line++
			}
		case csEndLF:
			if c != '\n' {
				return 0, errMalformed
			}
			s.st = csDone
			return i + 1, nil
		}
	}
	return len(b), nil
}

// endSize is the end of a size line.
func (s *chunkScanner) endSize() {
	if s.n == 0 {
		s.st, s.line = csTrailer, 0
	} else {
		s.st = csData
	}
	s.digits = 0
}

func (s *chunkScanner) done() bool { return s.st == csDone }

// unhex is the value of a hex digit, or 16 for another byte.
func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 16
}
