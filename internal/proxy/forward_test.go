package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// upstream starts a real loopback server and returns its host:port.
func upstream(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// front starts a loopback server that forwards every request to addr.
func front(t *testing.T, p *Proxy, addr string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.Forward(w, r, addr); err != nil {
			http.Error(w, "retry: "+err.Error(), 599)
		}
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// refusedAddr returns a loopback address that refuses connections.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestForwardBasic(t *testing.T) {
	p := New(Options{RequestID: true})
	t.Cleanup(p.Close)
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got-Id", r.Header.Get("X-Request-Id"))
		io.WriteString(w, "hello "+r.URL.Path)
	})
	resp, err := http.Get(front(t, p, addr) + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello /x" {
		t.Fatalf("body = %q", body)
	}
	if id := resp.Header.Get("X-Request-Id"); id == "" || id != resp.Header.Get("X-Got-Id") {
		t.Fatalf("request id: response %q, upstream saw %q", id, resp.Header.Get("X-Got-Id"))
	}
}

func TestForwardRefused(t *testing.T) {
	p := New(Options{})
	t.Cleanup(p.Close)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	err := p.Forward(rec, req, refusedAddr(t))
	if !errors.Is(err, ErrNotSent) {
		t.Fatalf("err = %v, want ErrNotSent", err)
	}
	if rec.Code != 200 || rec.Body.Len() != 0 || len(rec.Header()) != 0 {
		t.Fatalf("something was written: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}
