package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a minimal http.ResponseWriter, so that the benchmark
// measures Forward and not a client-side server.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) Flush()                      {}

// fastUpstream answers every request head with a fixed small response, the
// way a minimal app does, without allocating per request.
func fastUpstream(b *testing.B) string {
	const resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Thu, 26 Nov 2026 04:00:00 GMT\r\nContent-Length: 13\r\n\r\nHello, world!"
	return rawUpstream(b, func(c net.Conn, br *bufio.Reader) {
		bw := bufio.NewWriter(c)
		for {
			// Read one head: lines until an empty one.
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
			}
			bw.WriteString(resp)
			if br.Buffered() == 0 {
				if err := bw.Flush(); err != nil {
					return
				}
			}
		}
	})
}

// BenchmarkForward measures one small GET through Forward, in parallel,
// against a loopback upstream; allocs/op are the proxy's own.
func BenchmarkForward(b *testing.B) {
	for _, rid := range []bool{false, true} {
		name := "plain"
		if rid {
			name = "request-id"
		}
		b.Run(name, func(b *testing.B) {
			p := New(Options{RequestID: rid})
			defer p.Close()
			addr := fastUpstream(b)
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest("GET", "http://app.local/hello?x=1", nil)
				r.RemoteAddr = "127.0.0.1:5555"
				r.Header.Set("User-Agent", "bench")
				r.Header.Set("Accept", "*/*")
				w := &discardWriter{h: make(http.Header, 8)}
				for pb.Next() {
					clear(w.h)
					delete(r.Header, "X-Request-Id")
					if err := p.Forward(w, r, addr); err != nil || w.code != 200 {
						b.Fatalf("forward: %v %d", err, w.code)
					}
				}
			})
		})
	}
}

// BenchmarkForwardPOST measures a small request body (read whole, kept for
// a retry) through Forward.
func BenchmarkForwardPOST(b *testing.B) {
	p := New(Options{})
	defer p.Close()
	addr := rawUpstream(b, func(c net.Conn, br *bufio.Reader) {
		for {
			cl := 0
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
				if len(line) > 16 && string(line[:16]) == "Content-Length: " {
					for _, ch := range line[16:] {
						if ch >= '0' && ch <= '9' {
							cl = cl*10 + int(ch-'0')
						}
					}
				}
			}
			if _, err := br.Discard(cl); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	body := make([]byte, 1024)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: make(http.Header, 8)}
		rd := &replayReader{b: body}
		r := httptest.NewRequest("POST", "http://app.local/submit", rd)
		r.RemoteAddr = "127.0.0.1:5555"
		for pb.Next() {
			clear(w.h)
			rd.off = 0
			r.Body = io.NopCloser(rd)
			r.ContentLength = int64(len(body))
			if err := p.Forward(w, r, addr); err != nil || w.code != 200 {
				b.Fatalf("forward: %v %d", err, w.code)
			}
		}
	})
}

type replayReader struct {
	b   []byte
	off int
}

func (r *replayReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}
