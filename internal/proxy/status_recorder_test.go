package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStatusRecorder serves each case through a recorder on a real
// loopback server and checks the code it recorded and what the client got.
func TestStatusRecorder(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(w http.ResponseWriter)
		wantCode   int // recorded
		wantStatus int // seen by the client
	}{
		{"nothing written", func(w http.ResponseWriter) {}, 0, 200},
		{"explicit status", func(w http.ResponseWriter) { w.WriteHeader(418) }, 418, 418},
		{"body only", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "hi") }, 200, 200},
		{"first final status wins", func(w http.ResponseWriter) {
			w.WriteHeader(503)
			w.WriteHeader(200) // superfluous: net/http ignores it too
		}, 503, 503},
		{"informational does not count", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(201)
		}, 201, 201},
		{"flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200, 200},
		{"flush through ResponseController", func(w http.ResponseWriter) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
		}, 200, 200},
		{"deadline through Unwrap", func(w http.ResponseWriter) {
			if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
				panic(err)
			}
			w.WriteHeader(204)
		}, 204, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan int, 1)
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := RecordStatus(w)
				defer rec.Release()
				tt.handler(rec)
				got <- rec.Code()
			}))
			defer s.Close()
			resp, err := s.Client().Get(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("client got %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if c := <-got; c != tt.wantCode {
				t.Errorf("recorded %d, want %d", c, tt.wantCode)
			}
		})
	}
}

// TestStatusRecorderHijack: a handler that takes over the connection, by
// asserting http.Hijacker or through http.ResponseController, is recorded
// as 101.
func TestStatusRecorderHijack(t *testing.T) {
	hijacks := map[string]func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error){
		"Hijacker": func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) { return w.(http.Hijacker).Hijack() },
		"ResponseController": func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
			return http.NewResponseController(w).Hijack()
		},
	}
	for name, hijack := range hijacks {
		t.Run(name, func(t *testing.T) {
			got := make(chan int, 1)
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := RecordStatus(w)
				defer rec.Release()
				nc, _, err := hijack(rec)
				if err != nil {
					t.Errorf("hijack: %v", err)
					got <- rec.Code()
					return
				}
				_, _ = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
				nc.Close()
				got <- rec.Code()
			}))
			defer s.Close()
			c, err := net.DialTimeout("tcp", s.Listener.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "HTTP/1.1 101 ") {
				t.Errorf("client read %q %v, want a 101 status line", line, err)
			}
			if code := <-got; code != http.StatusSwitchingProtocols {
				t.Errorf("recorded %d, want 101", code)
			}
		})
	}
}

// BenchmarkStatusRecorder is the recorder's cost per request on the hot
// path: take one, write a status and a body through it, read the code,
// release it. It allocates nothing.
func BenchmarkStatusRecorder(b *testing.B) {
	w := &discardWriter{h: http.Header{}}
	body := []byte("Hello, world!")
	b.ReportAllocs()
	for b.Loop() {
		rec := RecordStatus(w)
		writeThrough(rec, body)
		if rec.Code() != http.StatusOK {
			b.Fatal("lost the status")
		}
		rec.Release()
	}
}

// writeThrough writes a response through w as a handler would, behind an
// interface the compiler cannot see through.
//
//go:noinline
func writeThrough(w http.ResponseWriter, body []byte) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
