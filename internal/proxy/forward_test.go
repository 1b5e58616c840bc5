package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebb-run/ebb/graceful"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func TestForwardRequestID(t *testing.T) {
	p := newProxy(t, Options{RequestID: true})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got-Id", r.Header.Get("X-Request-Id"))
		io.WriteString(w, "hello "+r.URL.RequestURI())
	})
	url := front(t, p, addr)
	c := client(t)

	req, _ := http.NewRequest("GET", url+"/x/y%2Fz?q=1", nil)
	resp, body := get(t, c, req)
	if body != "hello /x/y%2Fz?q=1" {
		t.Fatalf("body = %q", body)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" || id != resp.Header.Get("X-Got-Id") {
		t.Fatalf("generated id: response %q, upstream saw %q", id, resp.Header.Get("X-Got-Id"))
	}

	req, _ = http.NewRequest("GET", url+"/", nil)
	req.Header.Set("X-Request-Id", "given-42")
	resp, _ = get(t, c, req)
	if got, saw := resp.Header.Get("X-Request-Id"), resp.Header.Get("X-Got-Id"); got != "given-42" || saw != "given-42" {
		t.Fatalf("given id: response %q, upstream saw %q", got, saw)
	}

	req, _ = http.NewRequest("GET", url+"/", nil)
	resp2, _ := get(t, c, req)
	if resp2.Header.Get("X-Request-Id") == id {
		t.Fatalf("two requests got the same id %q", id)
	}
}

func TestForwardHopByHopAndForwardedHeaders(t *testing.T) {
	p := newProxy(t, Options{})
	var seen http.Header
	var host string
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		seen, host = r.Header.Clone(), r.Host
		h := w.Header()
		h.Set("Connection", "X-Hop-Resp")
		h.Set("X-Hop-Resp", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("Upgrade", "h2c")
		h.Set("X-End-Resp", "kept")
		h.Add("Set-Cookie", "a=1")
		h.Add("Set-Cookie", "b=2")
		io.WriteString(w, "ok")
	})
	url := front(t, p, addr)
	req, _ := http.NewRequest("GET", url+"/", nil)
	req.Host = "app.example"
	req.Header.Set("Connection", "X-Hop-Req, keep-alive")
	req.Header.Set("X-Hop-Req", "1")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Authorization", "Basic eA==")
	req.Header.Set("Proxy-Connection", "keep-alive")
	req.Header.Set("Te", "trailers")
	req.Header.Set("X-End-Req", "kept")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, body := get(t, client(t), req)
	if body != "ok" {
		t.Fatalf("body %q", body)
	}
	for _, k := range []string{"Connection", "X-Hop-Req", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Upgrade", "Trailer"} {
		if v, ok := seen[k]; ok {
			t.Errorf("upstream got hop-by-hop request header %s: %q", k, v)
		}
	}
	if seen.Get("X-End-Req") != "kept" {
		t.Errorf("end-to-end request header lost: %v", seen)
	}
	if got := seen.Get("X-Forwarded-For"); got != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", got)
	}
	if got := seen.Get("X-Forwarded-Proto"); got != "http" {
		t.Errorf("X-Forwarded-Proto = %q", got)
	}
	if got := seen.Get("X-Forwarded-Host"); got != "app.example" || host != "app.example" {
		t.Errorf("X-Forwarded-Host = %q, Host = %q", got, host)
	}
	for _, k := range []string{"X-Hop-Resp", "Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("client got hop-by-hop response header %s: %q", k, v)
		}
	}
	if resp.Header.Get("X-End-Resp") != "kept" || len(resp.Header["Set-Cookie"]) != 2 {
		t.Errorf("end-to-end response headers lost: %v", resp.Header)
	}
}

func TestForwardTrailers(t *testing.T) {
	p := newProxy(t, Options{})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Checksum", "abc")
	})
	req, _ := http.NewRequest("GET", front(t, p, addr)+"/", nil)
	resp, body := get(t, client(t), req)
	if body != "body" || resp.Trailer.Get("X-Checksum") != "abc" {
		t.Fatalf("body %q trailer %v", body, resp.Trailer)
	}
}

func TestForwardBodylessResponses(t *testing.T) {
	p := newProxy(t, Options{})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "5")
			if r.Method != "HEAD" {
				io.WriteString(w, "hello")
			}
		}
	})
	url := front(t, p, addr)
	c := client(t)
	for i := 0; i < 3; i++ { // several rounds: the connection must stay in sync
		for _, tc := range []struct {
			method, path string
			code         int
			body         string
		}{{"GET", "/204", 204, ""}, {"GET", "/304", 304, ""}, {"HEAD", "/x", 200, ""}, {"GET", "/x", 200, "hello"}} {
			req, _ := http.NewRequest(tc.method, url+tc.path, nil)
			resp, body := get(t, c, req)
			if resp.StatusCode != tc.code || body != tc.body {
				t.Fatalf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.body)
			}
			if tc.method == "HEAD" && resp.ContentLength != 5 {
				t.Fatalf("HEAD Content-Length = %d, want 5", resp.ContentLength)
			}
		}
	}
}

func TestForwardRequestBodies(t *testing.T) {
	p := newProxy(t, Options{})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%s %d %v %s", r.Method, len(b), r.TransferEncoding, r.Trailer.Get("X-T"))
	})
	url := front(t, p, addr)
	c := client(t)
	for _, tc := range []struct {
		name string
		size int
		want string
	}{
		{"empty", 0, "POST 0 [] "},
		{"small", 1000, "POST 1000 [] "},
		{"replay limit", 64 << 10, "POST 65536 [] "},
		{"streamed", 1 << 20, "POST 1048576 [] "},
	} {
		req, _ := http.NewRequest("POST", url+"/", bytes.NewReader(make([]byte, tc.size)))
		if _, body := get(t, c, req); body != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, body, tc.want)
		}
	}
	// Unknown length: chunked, with a trailer.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("abc"))
		pw.Write([]byte("defg"))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", url+"/", pr)
	req.Trailer = http.Header{"X-T": nil}
	go func() {}()
	req.Trailer.Set("X-T", "tv")
	if _, body := get(t, c, req); body != "POST 7 [chunked] tv" {
		t.Errorf("chunked: %q", body)
	}
}

func TestForwardRefusedIsNotSent(t *testing.T) {
	p := newProxy(t, Options{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/", strings.NewReader("payload"))
	err := p.Forward(rec, req, refusedAddr(t))
	if !errors.Is(err, ErrNotSent) || !Retryable(err) {
		t.Fatalf("err = %v, want ErrNotSent", err)
	}
	if rec.Code != 200 || rec.Body.Len() != 0 || len(rec.Header()) != 0 || rec.Flushed {
		t.Fatalf("something was written: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	// The retry on a healthy upstream gets the whole body.
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	rec = httptest.NewRecorder()
	if err := p.Forward(rec, req, addr); err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != "payload" {
		t.Fatalf("retried body = %q", rec.Body)
	}
}

func TestForwardDrain503(t *testing.T) {
	p := newProxy(t, Options{})
	draining := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(graceful.DrainHeader, "1")
		w.Header().Set("Retry-After", "1")
		http.Error(w, "draining", http.StatusServiceUnavailable)
	})
	plain503 := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	echo := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	for i := 0; i < 2; i++ {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/", strings.NewReader("again"))
		err := p.Forward(rec, req, draining)
		if !errors.Is(err, ErrDrained) {
			t.Fatalf("err = %v, want ErrDrained", err)
		}
		if rec.Code != 200 || rec.Body.Len() != 0 || len(rec.Header()) != 0 {
			t.Fatalf("something was written: %d %q %v", rec.Code, rec.Body, rec.Header())
		}
		rec = httptest.NewRecorder()
		if err := p.Forward(rec, req, echo); err != nil || rec.Body.String() != "again" {
			t.Fatalf("retry: %v %q", err, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	if err := p.Forward(rec, httptest.NewRequest("GET", "/", nil), plain503); err != nil {
		t.Fatalf("plain 503: %v", err)
	}
	if rec.Code != 503 || rec.Body.String() != "busy\n" {
		t.Fatalf("plain 503 not written through: %d %q", rec.Code, rec.Body)
	}
}

func TestForwardResetAfterSendIsNotRetryable(t *testing.T) {
	p := newProxy(t, Options{})
	addr := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readHead(br)
		c.(*net.TCPConn).SetLinger(0) // RST
	})
	for _, method := range []string{"POST", "GET"} {
		rec := httptest.NewRecorder()
		err := p.Forward(rec, httptest.NewRequest(method, "/", nil), addr)
		if err == nil || Retryable(err) {
			t.Fatalf("%s: err = %v, want a non-retryable error", method, err)
		}
		if rec.Code != 502 {
			t.Fatalf("%s: code = %d, want 502", method, rec.Code)
		}
	}
}

func TestForwardStaleKeepAlive(t *testing.T) {
	// An upstream that closes every connection after one response, without
	// saying so: the pooled connection is stale by the next request.
	closing := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if _, ok := readHead(br); !ok {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	send := func(t *testing.T, p *Proxy, method, addr string, pause time.Duration) {
		t.Helper()
		for i := 0; i < 3; i++ {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(method, "/", nil)
			if method == "POST" {
				req = httptest.NewRequest(method, "/", strings.NewReader("x"))
			}
			if err := p.Forward(rec, req, addr); err != nil || rec.Body.String() != "ok" {
				t.Fatalf("%s %d: %v %d %q", method, i, err, rec.Code, rec.Body)
			}
			time.Sleep(pause) // let the close arrive
		}
	}
	t.Run("checked always", func(t *testing.T) {
		send(t, newProxy(t, Options{}), "POST", closing, 50*time.Millisecond)
	})
	t.Run("checked after idling", func(t *testing.T) {
		send(t, newProxy(t, Options{StaleCheckAfter: 20 * time.Millisecond}), "POST", closing, 80*time.Millisecond)
	})
	t.Run("idempotent sent again", func(t *testing.T) {
		send(t, newProxy(t, Options{StaleCheckAfter: time.Hour}), "GET", closing, 10*time.Millisecond)
	})
	t.Run("idle timeout", func(t *testing.T) {
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		s.Config.IdleTimeout = 20 * time.Millisecond
		s.Start()
		t.Cleanup(s.Close)
		send(t, newProxy(t, Options{StaleCheckAfter: time.Hour}), "DELETE", s.Listener.Addr().String(), 60*time.Millisecond)
	})
	t.Run("not checked: a POST fails, not retryable", func(t *testing.T) {
		p := newProxy(t, Options{StaleCheckAfter: time.Hour})
		send := func() (int, error) {
			rec := httptest.NewRecorder()
			err := p.Forward(rec, httptest.NewRequest("POST", "/", strings.NewReader("x")), closing)
			return rec.Code, err
		}
		if code, err := send(); err != nil || code != 200 {
			t.Fatalf("first: %v %d", err, code)
		}
		time.Sleep(20 * time.Millisecond)
		if code, err := send(); err == nil || Retryable(err) || code != 502 {
			t.Fatalf("second on the stale connection: %v %d, want a non-retryable error and 502", err, code)
		}
	})
}

func TestForwardContextEnds(t *testing.T) {
	p := newProxy(t, Options{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/headers-first" {
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(200)
			io.WriteString(w, "part")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	// Deadline before the head: 504.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	start := time.Now()
	err := p.Forward(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx), addr)
	if err == nil || Retryable(err) || rec.Code != 504 {
		t.Fatalf("deadline: err %v code %d, want non-retryable and 504", err, rec.Code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("deadline took %v", d)
	}
	// Canceled (not a deadline) before the head: 502.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	rec = httptest.NewRecorder()
	err = p.Forward(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx2), addr)
	if err == nil || Retryable(err) || rec.Code != 502 {
		t.Fatalf("cancel: err %v code %d, want non-retryable and 502", err, rec.Code)
	}
	// Deadline after the head was sent: the client sees a truncated body.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
		defer cancel()
		p.Forward(w, r.WithContext(ctx), addr)
	}))
	t.Cleanup(srv.Close)
	resp, err := client(t).Get(srv.URL + "/headers-first")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("truncated response read without error: %q", b)
	}
	if string(b) != "part" {
		t.Fatalf("got %q before the cut, want %q", b, "part")
	}
}

func TestForwardUpstreamDiesMidBody(t *testing.T) {
	p := newProxy(t, Options{})
	addr := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readHead(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
	})
	resp, err := client(t).Get(front(t, p, addr) + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || string(b) != "only this" {
		t.Fatalf("read %q, %v; want the first bytes then an error", b, err)
	}
}

func TestForwardManyRequestsReuseConnections(t *testing.T) {
	p := newProxy(t, Options{})
	var mu = make(chan struct{}, 1)
	conns := map[string]bool{}
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu <- struct{}{}
		conns[r.RemoteAddr] = true
		<-mu
		io.WriteString(w, strconv.Itoa(len(r.URL.Path)))
	})
	url := front(t, p, addr)
	c := client(t)
	for i := 0; i < 50; i++ {
		req, _ := http.NewRequest("GET", url+"/abc", nil)
		if _, body := get(t, c, req); body != "4" {
			t.Fatalf("body %q", body)
		}
	}
	if len(conns) != 1 {
		t.Fatalf("upstream saw %d connections for 50 sequential requests, want 1", len(conns))
	}
}

func TestCloseIdleForgetsTheAddress(t *testing.T) {
	p := newProxy(t, Options{})
	release := make(chan struct{})
	var opened, closed atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "ok")
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	addr := s.Listener.Addr().String()

	// One busy connection, one idle.
	done := make(chan error, 1)
	go func() { done <- p.Forward(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil), addr) }()
	time.Sleep(50 * time.Millisecond)
	if err := p.Forward(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), addr); err != nil {
		t.Fatal(err)
	}
	p.CloseIdle(addr)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Both connections are closed: the idle one at once, the busy one when
	// its request ended.
	deadline := time.Now().Add(2 * time.Second)
	for closed.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if o, c := opened.Load(), closed.Load(); o != 2 || c != 2 {
		t.Fatalf("upstream connections: %d opened, %d closed; want 2 and 2", o, c)
	}
	// New requests still work, on a new connection.
	rec := httptest.NewRecorder()
	if err := p.Forward(rec, httptest.NewRequest("GET", "/", nil), addr); err != nil || rec.Body.String() != "ok" {
		t.Fatalf("after CloseIdle: %v %q", err, rec.Body)
	}
}

func TestForwardCloseDelimitedAndHTTP10Upstream(t *testing.T) {
	p := newProxy(t, Options{})
	var n atomic.Int32
	addr := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, ok := readHead(br); !ok {
				return
			}
			switch n.Add(1) {
			case 1: // HTTP/1.0 with keep-alive and a length: reusable
				io.WriteString(c, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\none")
			default: // no length: the body ends when the connection closes
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\ntwo, until close")
				return
			}
		}
	})
	url := front(t, p, addr)
	c := client(t)
	for _, want := range []string{"one", "two, until close"} {
		req, _ := http.NewRequest("GET", url+"/", nil)
		if _, body := get(t, c, req); body != want {
			t.Fatalf("body %q, want %q", body, want)
		}
	}
	if got := n.Load(); got != 2 {
		t.Fatalf("upstream saw %d requests", got)
	}
}

func TestForwardExpectContinue(t *testing.T) {
	p := newProxy(t, Options{MaxReplayBody: -1}) // streamed, as the shim does
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %d", r.Header.Get("Expect"), len(b))
	})
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	req, _ := http.NewRequest("PUT", front(t, p, addr)+"/", strings.NewReader(strings.Repeat("x", 5000)))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	resp, body := get(t, &http.Client{Transport: tr}, req)
	if resp.StatusCode != 200 || body != " 5000" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("the body waited for the continue timeout (%v): no 100 Continue", d)
	}
}

// TestForwardUpstreamGoneIsNotSent: an upstream that died (its connections
// closed, its port refusing) between two requests costs nothing: the next
// request, even a POST sent right after the previous answer, is reported as
// not sent so that the caller can send it elsewhere.
func TestForwardUpstreamGoneIsNotSent(t *testing.T) {
	p := newProxy(t, Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := l.Accept()
		if err != nil {
			return
		}
		readHead(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		// The process dies: its listener and connections close.
		l.Close()
		c.Close()
	}()
	t.Cleanup(func() { l.Close(); <-served })
	rec := httptest.NewRecorder()
	if err := p.Forward(rec, httptest.NewRequest("POST", "/", strings.NewReader("a")), addr); err != nil || rec.Body.String() != "ok" {
		t.Fatalf("first: %v %q", err, rec.Body)
	}
	<-served
	time.Sleep(20 * time.Millisecond) // the FIN reaches the pooled connection
	rec = httptest.NewRecorder()
	err = p.Forward(rec, httptest.NewRequest("POST", "/", strings.NewReader("b")), addr)
	if !errors.Is(err, ErrNotSent) {
		t.Fatalf("after the upstream died: %v, want ErrNotSent", err)
	}
	if rec.Code != 200 || rec.Body.Len() != 0 || len(rec.Header()) != 0 {
		t.Fatalf("something was written: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}
