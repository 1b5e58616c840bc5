//go:build linux

package evloop

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	const complete = 0
	for _, tc := range []struct {
		name, raw string
		want      int // complete (the head's length), needMore or notOurs
		check     func(t *testing.T, r *request, b []byte)
	}{
		{name: "simple", raw: "GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n", want: complete, check: func(t *testing.T, r *request, b []byte) {
			if string(r.path(b)) != "/a" || !r.idempotent || r.bodyLen != -1 || r.total != 30 {
				t.Errorf("path %q idempotent %v bodyLen %d total %d", r.path(b), r.idempotent, r.bodyLen, r.total)
			}
		}},
		{name: "body and close", raw: "POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\nConnection: keep-alive, close\r\n\r\nabc", want: complete, check: func(t *testing.T, r *request, _ []byte) {
			if r.bodyLen != 3 || r.total != r.headLen+3 || !r.close || r.idempotent {
				t.Errorf("bodyLen %d total %d close %v idempotent %v", r.bodyLen, r.total, r.close, r.idempotent)
			}
		}},
		{name: "idempotency key", raw: "POST / HTTP/1.1\r\nHost: h\r\nIdempotency-Key: k\r\n\r\n", want: complete, check: func(t *testing.T, r *request, _ []byte) {
			if !r.idempotent {
				t.Error("a POST with Idempotency-Key is not resendable")
			}
		}},
		{name: "incomplete line", raw: "GET / HTTP/1.1\r\nHost: h", want: needMore},
		{name: "incomplete head", raw: "GET / HTTP/1.1\r\nHost: h\r\n", want: needMore},
		{name: "HTTP/1.0", raw: "GET / HTTP/1.0\r\n\r\n", want: notOurs},
		{name: "bare LF", raw: "GET / HTTP/1.1\nHost: h\n\n", want: notOurs},
		{name: "bare LF in headers", raw: "GET / HTTP/1.1\r\nHost: h\n\r\n", want: notOurs},
		{name: "absolute form", raw: "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", want: notOurs},
		{name: "bad escape", raw: "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", want: notOurs},
		{name: "cut escape", raw: "GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n", want: notOurs},
		{name: "escapes", raw: "GET /a%4F%2f?q=%zz% HTTP/1.1\r\nHost: h\r\n\r\n", want: complete},
		{name: "CONNECT", raw: "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", want: notOurs},
		{name: "two hosts", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", want: notOurs},
		{name: "no host", raw: "GET / HTTP/1.1\r\n\r\n", want: notOurs},
		{name: "chunked", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", want: notOurs},
		{name: "length and chunked", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", want: notOurs},
		{name: "two lengths", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", want: notOurs},
		{name: "signed length", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", want: notOurs},
		{name: "too long a body", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n", want: notOurs},
		{name: "space before colon", raw: "GET / HTTP/1.1\r\nHost : h\r\n\r\n", want: notOurs},
		{name: "obs-fold", raw: "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", want: notOurs},
		{name: "control byte", raw: "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n", want: notOurs},
		{name: "upgrade", raw: "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", want: notOurs},
		{name: "expect", raw: "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n", want: notOurs},
		{name: "connection names a header", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: X-Secret\r\n\r\n", want: notOurs},
		{name: "space in target", raw: "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", want: notOurs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r request
			b := []byte(tc.raw)
			want := tc.want
			if want == complete {
				want = strings.Index(tc.raw, "\r\n\r\n") + 4
			}
			if got := parseRequest(b, &r, 64<<10); got != want {
				t.Fatalf("parseRequest = %d, want %d", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, &r, b)
			}
		})
	}
}

// TestChunkScanner feeds a chunked body with extensions and trailers in
// pieces of every size and checks that its end is found exactly.
func TestChunkScanner(t *testing.T) {
	body := "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer-One: x\r\n\r\n"
	after := "HTTP/1.1 200 OK\r\n" // the next response on the connection
	for size := 1; size <= len(body)+len(after); size++ {
		var s chunkScanner
		in := body + after
		consumed := 0
		for off := 0; off < len(in) && !s.done(); off += size {
			piece := in[off:min(off+size, len(in))]
			n, err := s.scan([]byte(piece))
			if err != nil {
				t.Fatalf("pieces of %d: %v at %d", size, err, off)
			}
			consumed += n
		}
		if !s.done() || consumed != len(body) {
			t.Fatalf("pieces of %d: done %v after %d bytes, want done after %d", size, s.done(), consumed, len(body))
		}
	}
	for _, bad := range []string{"x\r\n", "\r\n", "5\r\nhelloXX", "5\rX", "fffffffffffffffff\r\n"} {
		var s chunkScanner
		if _, err := s.scan([]byte(bad)); err == nil {
			t.Errorf("scan(%q): no error", bad)
		}
	}
}

func TestParseResponse(t *testing.T) {
	var h responseHead
	raw := "HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 2\r\nTransfer-Encoding: gzip, chunked\r\nX-Ebb-Drain: 1\r\nX-Request-Id: r\r\n\r\nok"
	out, n, err := parseResponse(nil, []byte(raw), &h)
	if err != nil || n != strings.Index(raw, "\r\n\r\n")+4 {
		t.Fatalf("parseResponse: n %d err %v", n, err)
	}
	got := string(out)
	for _, want := range []string{"HTTP/1.1 200 OK\r\n", "Transfer-Encoding: gzip, chunked\r\n", "X-Request-Id: r\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("relayed head %q lacks %q", got, want)
		}
	}
	for _, gone := range []string{"Connection", "X-Hop", "Content-Length"} {
		if strings.Contains(got, gone) {
			t.Errorf("relayed head %q keeps %s", got, gone)
		}
	}
	if !h.chunked || !h.drain || !h.hasReqID || h.length != -1 {
		t.Errorf("head %+v: want chunked, drain, request id, no length", h)
	}
	if fr, keep := framingOf(&h, false); fr != frChunked || !keep {
		t.Errorf("framing %v keep %v, want chunked kept alive (HTTP/1.0 with keep-alive)", fr, keep)
	}
	if _, n, _ := parseResponse(nil, []byte("HTTP/1.1 200 OK\r\n"), &h); n != 0 {
		t.Errorf("an incomplete head parsed as %d bytes", n)
	}
}

// FuzzParseRequest: whatever the bytes, parsing does not panic, and a
// request the loops take reaches the upstream as one that net/http reads
// back with the same method, target, Host and body.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /p?q HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-Forwarded-For: 1.2.3.4\r\n\r\nabc",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-Request-Id: id\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r request
		n := parseRequest(b, &r, 1<<10)
		if n < 0 || len(b) < r.total {
			return
		}
		out := appendUpstream(nil, b, &r, "127.0.0.1", []byte("id"))
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(out)))
		if err != nil {
			t.Fatalf("the upstream request %q does not parse: %v", out, err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("the upstream request %q: body: %v", out, err)
		}
		if req.Method != string(r.method.of(b)) || req.RequestURI != string(r.target.of(b)) ||
			req.Host != string(bytes.TrimSpace(r.host.of(b))) || !bytes.Equal(body, b[r.headLen:r.total]) {
			t.Fatalf("%q went upstream as %q: %s %s host %q body %q", b, out, req.Method, req.RequestURI, req.Host, body)
		}
	})
}
