package proxy

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// writeRequestHead writes the request line and headers of r, as sent to
// the upstream, into bw (without flushing). It drops hop-by-hop headers,
// sets the X-Forwarded-* headers, and frames the body with bodyLen: -1
// means chunked, 0 no body (a Content-Length: 0 is still sent for methods
// that normally carry one).
func writeRequestHead(bw *outBuf, r *http.Request, bodyLen int64, upgrade string) {
	bw.WriteString(r.Method)
	bw.Byte(' ')
	writeRequestURI(bw, r)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")

	conn := r.Header["Connection"]
	var xff []string
	hasProto, hasHost := false, false
	for k, vs := range r.Header {
		switch k {
		case "Host", "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
			"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
			"Content-Length", "Expect":
			continue
		case "X-Forwarded-For":
			xff = vs
			continue
		case "X-Forwarded-Proto":
			hasProto = true
		case "X-Forwarded-Host":
			hasHost = true
		}
		if len(conn) > 0 && namedBy(conn, k) {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}

	bw.WriteString("X-Forwarded-For: ")
	for _, v := range xff {
		bw.WriteString(v)
		bw.WriteString(", ")
	}
	bw.WriteString(clientIP(r.RemoteAddr))
	bw.WriteString("\r\n")
	if !hasProto {
		if r.TLS != nil {
			bw.WriteString("X-Forwarded-Proto: https\r\n")
		} else {
			bw.WriteString("X-Forwarded-Proto: http\r\n")
		}
	}
	if !hasHost && r.Host != "" {
		bw.WriteString("X-Forwarded-Host: ")
		bw.WriteString(r.Host)
		bw.WriteString("\r\n")
	}

	switch {
	case upgrade != "":
		bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
		bw.WriteString(upgrade)
		bw.WriteString("\r\n")
	case bodyLen < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		if len(r.Trailer) > 0 {
			for k := range r.Trailer {
				bw.WriteString("Trailer: ")
				bw.WriteString(k)
				bw.WriteString("\r\n")
			}
		}
	case bodyLen > 0 || methodHasBody(r.Method):
		bw.WriteString("Content-Length: ")
		bw.b = strconv.AppendInt(bw.b, bodyLen, 10)
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
}

// outBuf assembles a request head in a reused byte slice.
type outBuf struct{ b []byte }

func (o *outBuf) WriteString(s string) { o.b = append(o.b, s...) }
func (o *outBuf) Byte(c byte)          { o.b = append(o.b, c) }
func (o *outBuf) Write(p []byte)       { o.b = append(o.b, p...) }

// writeRequestURI writes the origin-form request target of r.URL.
func writeRequestURI(bw *outBuf, r *http.Request) {
	u := r.URL
	if u.Opaque != "" {
		bw.WriteString(u.RequestURI())
		return
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	bw.WriteString(p)
	if u.ForceQuery || u.RawQuery != "" {
		bw.Byte('?')
		bw.WriteString(u.RawQuery)
	}
}

// methodHasBody reports whether requests of this method normally carry a
// body, so that an empty one is announced with Content-Length: 0.
func methodHasBody(m string) bool { return m == "POST" || m == "PUT" || m == "PATCH" }

// namedBy reports whether the header k is listed in one of the Connection
// header values (and is therefore hop-by-hop).
func namedBy(connection []string, k string) bool {
	for _, v := range connection {
		if tokenListHas(v, k) {
			return true
		}
	}
	return false
}

// tokenListHas reports whether the comma-separated list v holds tok
// (compared case-insensitively).
func tokenListHas(v, tok string) bool {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

// clientIP returns the host part of a RemoteAddr, without allocating.
func clientIP(remote string) string {
	i := strings.LastIndexByte(remote, ':')
	if i < 0 {
		return remote
	}
	h := remote[:i]
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	return h
}

// writeChunked copies body to bw in HTTP/1.1 chunked encoding, then the
// trailers (read after the body ended, as net/http fills them in then).
func writeChunked(bw *bufio.Writer, body io.Reader, trailer http.Header, buf []byte) error {
	var hdr [18]byte
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			b := strconv.AppendInt(hdr[:0], int64(n), 16)
			b = append(b, '\r', '\n')
			bw.Write(b)
			bw.Write(buf[:n])
			bw.WriteString("\r\n")
			// Flush every chunk: a streaming client expects each piece to
			// reach the upstream when it is sent.
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	bw.WriteString("0\r\n")
	for k, vs := range trailer {
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

// writeFixed copies exactly n bytes of body to bw and flushes.
func writeFixed(bw *bufio.Writer, body io.Reader, n int64, buf []byte) error {
	for n > 0 {
		b := buf
		if int64(len(b)) > n {
			b = b[:n]
		}
		m, rerr := body.Read(b)
		if m > 0 {
			bw.Write(b[:m])
			n -= int64(m)
			if bw.Buffered() > 0 && (rerr != nil || n == 0 || m < len(b)) {
				if err := bw.Flush(); err != nil {
					return err
				}
			}
		}
		if n == 0 {
			break
		}
		if rerr == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if rerr != nil {
			return rerr
		}
	}
	return bw.Flush()
}
