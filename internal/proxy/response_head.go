package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// errHeadTooLarge is returned when a response head does not fit the
// connection's read buffer.
var errHeadTooLarge = errors.New("response head too large")

// field is one header line of a response head.
type field struct{ k, v string }

// responseHead is a parsed response status line and header block. Its
// strings point into one string allocated per response.
type responseHead struct {
	status  int
	fields  []field // in order, keys canonical
	connTok string  // the Connection header values, comma-joined
	// contentLength is the body length, -1 when not given.
	contentLength int64
	clValue       string // the Content-Length value as received
	chunked       bool
	// closeDelimited: a Transfer-Encoding other than chunked, or HTTP/1.0
	// without Content-Length: the body ends when the connection closes.
	teOther bool
	// keepAlive is false when the upstream will close the connection.
	keepAlive bool
	drain     bool // the graceful.DrainHeader marker is present
	hasReqID  bool // the upstream set X-Request-Id itself
}

// readResponseHead reads and parses one response head from br. fields is
// reused storage. On error, read reports whether any byte of a response
// had arrived.
func readResponseHead(br *bufio.Reader, h *responseHead) (read bool, err error) {
	// Wait for the first byte, then for the empty line ending the head.
	if _, err := br.Peek(1); err != nil {
		return false, err
	}
	end := -1
	scanned := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := headEnd(buf, scanned); i >= 0 {
			end = i
			break
		}
		scanned = max(len(buf)-3, 0)
		if len(buf) == br.Size() {
			return true, errHeadTooLarge
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return true, err
		}
	}
	buf, _ := br.Peek(end)
	s := string(buf)
	_, _ = br.Discard(end)
	return true, parseHead(s, h)
}

// headEnd returns the index just past the empty line that ends a head in
// buf, or -1. It starts looking at from.
func headEnd(buf []byte, from int) int {
	for {
		i := bytes.IndexByte(buf[from:], '\n')
		if i < 0 {
			return -1
		}
		i += from
		switch {
		case i+1 < len(buf) && buf[i+1] == '\n':
			return i + 2
		case i+2 < len(buf) && buf[i+1] == '\r' && buf[i+2] == '\n':
			return i + 3
		}
		from = i + 1
	}
}

// parseHead parses a response head that ends with an empty line.
func parseHead(s string, h *responseHead) error {
	line, rest := nextLine(s)
	// HTTP/1.x SSS [reason]
	if len(line) < 12 || !strings.HasPrefix(line, "HTTP/1.") || line[8] != ' ' {
		return errors.New("malformed status line")
	}
	minor := line[7]
	code := line[9:12]
	if len(line) > 12 && line[12] != ' ' {
		return errors.New("malformed status line")
	}
	st := 0
	for i := 0; i < 3; i++ {
		d := code[i]
		if d < '0' || d > '9' {
			return errors.New("malformed status code")
		}
		st = st*10 + int(d-'0')
	}
	if st < 100 {
		return errors.New("malformed status code")
	}
	h.status = st
	h.fields = h.fields[:0]
	h.connTok = ""
	h.contentLength = -1
	h.clValue = ""
	h.chunked = false
	h.teOther = false
	h.keepAlive = minor != '0'
	h.drain = false
	h.hasReqID = false

	for {
		line, rest = nextLine(rest)
		if line == "" {
			break
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return errors.New("malformed header line")
		}
		k := line[:colon]
		if k[len(k)-1] == ' ' || k[len(k)-1] == '\t' {
			return errors.New("malformed header line (space before colon)")
		}
		v := strings.Trim(line[colon+1:], " \t")
		k = canonicalKey(k)
		switch k {
		case "Connection":
			if h.connTok == "" {
				h.connTok = v
			} else {
				h.connTok += "," + v
			}
			continue
		case "Content-Length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return errors.New("malformed Content-Length")
			}
			if h.contentLength >= 0 && n != h.contentLength {
				return errors.New("conflicting Content-Length")
			}
			h.contentLength, h.clValue = n, v
			continue
		case "Transfer-Encoding":
			if strings.EqualFold(lastToken(v), "chunked") {
				h.chunked = true
			} else {
				h.teOther = true
			}
			continue
		case "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
			"Te", "Trailer":
			continue
		case "X-Request-Id":
			h.hasReqID = true
		case "X-Ebb-Drain": // graceful.DrainHeader
			h.drain = true
		}
		h.fields = append(h.fields, field{k, v})
	}
	if h.chunked || h.teOther {
		h.contentLength, h.clValue = -1, "" // RFC 9112 §6.3: TE overrides CL
	}
	if h.connTok != "" {
		if tokenListHas(h.connTok, "close") {
			h.keepAlive = false
		} else if minor == '0' && tokenListHas(h.connTok, "keep-alive") {
			h.keepAlive = true
		}
	}
	if h.teOther || (minor == '0' && h.contentLength < 0 && !h.chunked) {
		h.keepAlive = false
	}
	return nil
}

// nextLine splits s at the first line ending (LF or CRLF).
func nextLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	line, rest = s[:i], s[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

func lastToken(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// copyTo adds the end-to-end headers of h to dst, allocating one slice for
// all values, and Content-Length when withLength. Headers named by
// Connection are left out.
func (h *responseHead) copyTo(dst http.Header, withLength bool) {
	vals := make([]string, len(h.fields)+1)
	if withLength {
		vals[len(h.fields)] = h.clValue
		dst["Content-Length"] = vals[len(h.fields):]
	}
	for i, f := range h.fields {
		if f.k == "Upgrade" || (h.connTok != "" && tokenListHas(h.connTok, f.k)) {
			continue
		}
		if prev, ok := dst[f.k]; ok {
			dst[f.k] = append(prev, f.v)
			continue
		}
		vals[i] = f.v
		dst[f.k] = vals[i : i+1 : i+1]
	}
}

// bodyless reports whether a response to method with this status has no
// body regardless of its headers.
func (h *responseHead) bodyless(method string) bool {
	return method == "HEAD" || h.status == 204 || h.status == 304 || (h.status >= 100 && h.status < 200)
}
