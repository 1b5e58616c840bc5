package proxy

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstream starts a real loopback HTTP server and returns its host:port.
func upstream(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// frontHandler forwards every request to addr; a retryable error is
// answered with status 599 so tests can see it.
func frontHandler(p *Proxy, addr string, errs chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := p.Forward(w, r, addr)
		if errs != nil {
			errs <- err
		}
		if Retryable(err) {
			http.Error(w, "retryable: "+err.Error(), 599)
		}
	}
}

// front starts a loopback server that forwards every request to addr and
// returns its base URL.
func front(t testing.TB, p *Proxy, addr string) string {
	t.Helper()
	s := httptest.NewServer(frontHandler(p, addr, nil))
	t.Cleanup(s.Close)
	return s.URL
}

// newProxy returns a Proxy closed at the end of the test.
func newProxy(t testing.TB, o Options) *Proxy {
	p := New(o)
	t.Cleanup(p.Close)
	return p
}

// client returns an HTTP client whose connections close at the end of the
// test.
func client(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// refusedAddr returns a loopback address that refuses connections.
func refusedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// rawUpstream accepts loopback connections and hands each to serve, which
// gets the connection with a reader positioned at the first request. All
// goroutines stop at the end of the test.
func rawUpstream(t testing.TB, serve func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// readHead reads one request head; it returns false at EOF.
func readHead(br *bufio.Reader) (string, bool) {
	var sb strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return sb.String(), false
		}
		sb.WriteString(line)
		if line == "\r\n" {
			return sb.String(), true
		}
	}
}
