package proxy

import "net/http"

// commonKeys maps the lower-case form of frequent header names to their
// canonical form, so that canonicalizing them allocates nothing.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept-Ranges", "Access-Control-Allow-Origin", "Age", "Cache-Control", "Connection",
		"Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
		"Content-Type", "Date", "Etag", "Expires", "Keep-Alive", "Last-Modified", "Location",
		"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Retry-After", "Server",
		"Set-Cookie", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Vary", "Www-Authenticate",
		"X-Content-Type-Options", "X-Request-Id", "X-Ebb-Drain", "Sec-Websocket-Accept",
		"Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Strict-Transport-Security",
	} {
		m[toLowerASCII(k)] = k
	}
	return m
}()

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// canonicalKey returns the canonical form of a header name (as
// http.CanonicalHeaderKey), without allocating when k already is canonical
// or is a common header.
func canonicalKey(k string) string {
	if isCanonical(k) {
		return k
	}
	if len(k) <= 64 {
		var buf [64]byte
		for i := 0; i < len(k); i++ {
			c := k[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		if ck, ok := commonKeys[string(buf[:len(k)])]; ok {
			return ck
		}
	}
	return http.CanonicalHeaderKey(k)
}

// isCanonical reports whether k is already in canonical form: letters
// upper-case at the start and after '-', lower-case elsewhere, and only
// token characters.
func isCanonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				return false
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				return false
			}
		case c == ' ' || c == '\t' || c < 0x21 || c > 0x7e:
			return false
		}
		upper = c == '-'
	}
	return true
}
