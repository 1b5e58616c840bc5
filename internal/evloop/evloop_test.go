//go:build linux

package evloop

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebb-run/ebb/internal/limiter"
)

func TestForwardsHeadersBothWays(t *testing.T) {
	up := echo(t)
	r := newRig(t, hostOf(up))
	resp, body := r.roundTrip("POST /p?q=1 HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n" +
		"X-Forwarded-For: 10.0.0.1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-Custom: a b\r\n\r\nhello")
	if resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("got %d %q, want 200 hello", resp.StatusCode, body)
	}
	want := map[string]string{
		"Echo-Method":            "POST",
		"Echo-Uri":               "/p?q=1",
		"Echo-Host":              "example.test",
		"Echo-Content-Length":    "5",
		"Echo-X-Forwarded-For":   "10.0.0.1, 127.0.0.1",
		"Echo-X-Forwarded-Proto": "http",
		"Echo-X-Forwarded-Host":  "example.test",
		"Echo-X-Custom":          "a b",
		"Echo-Keep-Alive":        "",
		"Echo-Proxy-Connection":  "",
		"Echo-Te":                "",
		"Echo-Connection":        "",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	id := resp.Header.Get("X-Request-Id")
	if len(id) != 33 || resp.Header.Get("Echo-X-Request-Id") != id {
		t.Errorf("X-Request-Id %q sent upstream as %q; want the same fresh 33-character id", id, resp.Header.Get("Echo-X-Request-Id"))
	}
	if codes := r.pol.doneCodes(t, 1); codes[0] != 200 {
		t.Errorf("Done code %d, want 200", codes[0])
	}

	resp, _ = r.roundTrip("GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: mine\r\n\r\n")
	if resp.Header.Get("X-Request-Id") != "mine" || resp.Header.Get("Echo-X-Request-Id") != "mine" {
		t.Errorf("a request's own X-Request-Id: returned %q, sent %q; want mine for both",
			resp.Header.Get("X-Request-Id"), resp.Header.Get("Echo-X-Request-Id"))
	}
	resp, _ = r.roundTrip("PUT / HTTP/1.1\r\nHost: h\r\n\r\n")
	if got := resp.Header.Get("Echo-Content-Length"); got != "0" {
		t.Errorf("PUT without a body reached the upstream with length %s, want 0", got)
	}
}

func TestResponseHopByHopHeadersDropped(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn, _ *http.Request) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=5\r\nX-Request-Id: theirs\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	r := newRig(t, up)
	resp, body := r.roundTrip("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if body != "ok" || resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("Connection") != "" || resp.Close {
		t.Errorf("got %q, Keep-Alive %q, Connection %q, close %v; want ok without hop-by-hop headers, kept alive",
			body, resp.Header.Get("Keep-Alive"), resp.Header.Get("Connection"), resp.Close)
	}
	if resp.Header.Get("X-Request-Id") != "theirs" {
		t.Errorf("X-Request-Id %q, want the upstream's own", resp.Header.Get("X-Request-Id"))
	}
}

// TestKeepAliveAndPipelining sends requests one after another on one
// connection, and two in one write.
func TestKeepAliveAndPipelining(t *testing.T) {
	up := echo(t)
	r := newRig(t, hostOf(up))
	c := r.dial()
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 50 {
		resp, body := r.send(c, br, fmt.Sprintf("POST /%d HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n%03d", i, i))
		if resp.StatusCode != 200 || body != fmt.Sprintf("%03d", i) || resp.Close {
			t.Fatalf("request %d: %d %q close=%v", i, resp.StatusCode, body, resp.Close)
		}
	}
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	a, _ := readResp(t, br, "GET /a")
	b, _ := readResp(t, br, "GET /b")
	if a.Header.Get("Echo-Uri") != "/a" || b.Header.Get("Echo-Uri") != "/b" || !b.Close {
		t.Errorf("pipelined: %q then %q (close %v), want /a then /b with Connection: close", a.Header.Get("Echo-Uri"), b.Header.Get("Echo-Uri"), b.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close the connection stayed open (%v)", err)
	}
	r.pol.doneCodes(t, 52)
}

// TestResponseFramings relays each way a response body can end, streaming.
func TestResponseFramings(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 20000) // 320 kB, many reads
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			for i := range 3 {
				fmt.Fprintf(w, "part %d;", i)
				w.(http.Flusher).Flush()
			}
		case "/big":
			io.WriteString(w, big)
		case "/bigchunked":
			for i := 0; i < len(big); i += 7000 {
				io.WriteString(w, big[i:min(i+7000, len(big))])
				w.(http.Flusher).Flush()
			}
		case "/204":
			w.WriteHeader(204)
		case "/head":
			w.Header().Set("Content-Length", "10")
		}
	}))
	defer up.Close()
	r := newRig(t, hostOf(up))
	c := r.dial()
	defer c.Close()
	br := bufio.NewReader(c)
	for _, tc := range []struct{ req, want string }{
		{"GET /chunked", "part 0;part 1;part 2;"},
		{"GET /big", big},
		{"GET /bigchunked", big},
		{"GET /204", ""},
		{"HEAD /head", ""},
		{"GET /chunked", "part 0;part 1;part 2;"},
	} {
		resp, body := r.send(c, br, tc.req+" HTTP/1.1\r\nHost: h\r\n\r\n")
		if body != tc.want || resp.Close {
			t.Errorf("%s: %d, %d bytes (close %v), want %d bytes on a kept-alive connection", tc.req, resp.StatusCode, len(body), resp.Close, len(tc.want))
		}
	}
}

// TestStreamsAsItArrives: each event of a server-sent stream reaches the
// client while the upstream still holds the response open.
func TestStreamsAsItArrives(t *testing.T) {
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			<-next
		}
	}))
	defer up.Close()
	r := newRig(t, hostOf(up))
	c := r.dial()
	defer c.Close()
	io.WriteString(c, "GET /events HTTP/1.1\r\nHost: h\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := lines.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		lines.ReadString('\n')
		next <- struct{}{}
	}
}

// TestCloseDelimitedResponse: an HTTP/1.0 upstream ends its body by
// closing; the client gets all of it and Connection: close.
func TestCloseDelimitedResponse(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn, _ *http.Request) bool {
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it, until the close")
		return false
	})
	r := newRig(t, up)
	resp, body := r.roundTrip("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if body != "all of it, until the close" || !resp.Close {
		t.Errorf("got %q (close %v), want the whole body and Connection: close", body, resp.Close)
	}
}

// TestUpstreamClosesKeptAliveConnections: an upstream that closes every
// connection after a while (or after each answer) costs no request.
func TestUpstreamClosesKeptAliveConnections(t *testing.T) {
	var served atomic.Int64
	var closing atomic.Int32 // silent closes answered but not yet done
	up := rawUpstream(t, func(c net.Conn, _ *http.Request) bool {
		n := served.Add(1)
		if n%3 == 0 {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			return false
		}
		if n%5 == 0 { // close silently after this one
			closing.Add(1)
			defer closing.Add(-1)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			// Done once the proxy has seen the close and dropped its end
			// (whatever it sent meanwhile is discarded, unanswered).
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, c)
			return false
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	r := newRig(t, up)
	c := r.dial()
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 120 {
		// GETs go back to back: a silent close may still be on its way
		// when the next one goes out, and the GET is resent. A POST is
		// never sent twice, so it is only safe once the close has arrived
		// (as with an app's idle timeout): it waits until the proxy has
		// dropped the closed connection.
		method := [2]string{"GET", "POST"}[i%2]
		for deadline := time.Now().Add(5 * time.Second); method == "POST" && closing.Load() > 0; {
			if time.Now().After(deadline) {
				t.Fatal("the upstream never closed its connection")
			}
			time.Sleep(100 * time.Microsecond)
		}
		resp, body := r.send(c, br, method+" / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d (%s): %d %q", i, method, resp.StatusCode, body)
		}
	}
}

// TestHeadGetsNoReplyBody: the loop's own answers to HEAD carry no body,
// so the connection stays in step.
func TestHeadGetsNoReplyBody(t *testing.T) {
	up := echo(t)
	r := newRig(t, hostOf(up))
	r.pol.setProbe(NewReply(503, false, "starting\n"))
	c := r.dial()
	defer c.Close()
	br := bufio.NewReader(c)
	if resp, body := r.send(c, br, "HEAD /ready HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 503 || body != "" {
		t.Errorf("HEAD /ready: %d %q, want 503 without a body", resp.StatusCode, body)
	}
	if resp, body := r.send(c, br, "GET /ready HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 503 || body != "starting\n" {
		t.Errorf("GET /ready after it: %d %q, want 503 starting", resp.StatusCode, body)
	}
}

// TestHeaderTimeoutRunsFromFirstByte: a kept-alive connection idle for
// longer than the header timeout still gets to send a request slowly.
func TestHeaderTimeoutRunsFromFirstByte(t *testing.T) {
	up := echo(t)
	r := newRig(t, hostOf(up), func(o *Options) { o.HeaderTimeout = 1500 * time.Millisecond })
	c := r.dial()
	defer c.Close()
	br := bufio.NewReader(c)
	r.send(c, br, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(2 * time.Second)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n")
	time.Sleep(500 * time.Millisecond)
	io.WriteString(c, "hi")
	if resp, body := readResp(t, br, "POST /"); resp.StatusCode != 200 || body != "hi" {
		t.Errorf("slow request after an idle spell: %d %q, want 200 hi", resp.StatusCode, body)
	}
}

func TestUpstreamDownIsRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	r := newRig(t, addr)
	resp, body := r.roundTrip("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp.StatusCode != 503 || body != "refused\n" {
		t.Errorf("got %d %q, want the policy's refusal", resp.StatusCode, body)
	}
	if r.lim.InFlight() != 0 {
		t.Errorf("slot kept after a refusal: in flight %d", r.lim.InFlight())
	}
}

func TestMalformedResponseIs502(t *testing.T) {
	for name, tc := range map[string]struct {
		answer string
		cut    bool // the head is relayed, then the connection is cut
	}{
		"garbage":       {answer: "bogus\r\n\r\n"},
		"bad length":    {answer: "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"},
		"cut short":     {answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", cut: true},
		"bad chunk":     {answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", cut: true},
		"unasked 101":   {answer: "HTTP/1.1 101 Switching Protocols\r\n\r\n"},
		"closed silent": {answer: ""},
		"leading LF":    {answer: "\nHTTP/1.1 200 OK\r\n\r\n"},
		"plus length":   {answer: "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok"},
	} {
		t.Run(name, func(t *testing.T) {
			up := rawUpstream(t, func(c net.Conn, _ *http.Request) bool {
				io.WriteString(c, tc.answer)
				return false
			})
			r := newRig(t, up)
			c := r.dial()
			defer c.Close()
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
			}
			switch {
			case tc.cut && err == nil:
				t.Errorf("a response cut short or malformed after its head read without error")
			case !tc.cut && (resp == nil || resp.StatusCode != 502):
				t.Errorf("got %v %v, want 502", resp, err)
			}
			r.pol.doneCodes(t, 1)
			if r.lim.InFlight() != 0 {
				t.Errorf("slot kept: in flight %d", r.lim.InFlight())
			}
		})
	}
}

// TestHandsOffWhatItDoesNotTake: these requests reach the general path
// whole, bytes already read included.
func TestHandsOffWhatItDoesNotTake(t *testing.T) {
	up := echo(t)
	r := newRig(t, hostOf(up), func(o *Options) { o.MaxBody = 16 })
	for _, tc := range []struct{ name, raw, body string }{
		{"chunked body", "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello"},
		{"large body", "POST /l HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n01234567890123456789", "01234567890123456789"},
		{"HTTP/1.0", "GET /old HTTP/1.0\r\nHost: h\r\n\r\n", ""},
		{"upgrade", "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", ""},
		{"expect", "POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", "hi"},
		{"absolute form", "GET http://h/abs HTTP/1.1\r\nHost: h\r\n\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := r.dial()
			defer c.Close()
			io.WriteString(c, tc.raw)
			select {
			case req := <-r.handed:
				body, _ := io.ReadAll(req.Body)
				if string(body) != tc.body {
					t.Errorf("handed-off body %q, want %q", body, tc.body)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("not handed off")
			}
		})
	}
	// net/http refuses a request without Host itself.
	if resp, _ := r.roundTrip("GET /nohost HTTP/1.1\r\n\r\n"); resp.StatusCode != 400 {
		t.Errorf("a request without Host: %d, want net/http's 400", resp.StatusCode)
	}
	if n := r.pol.arrived.Load(); n != 0 {
		t.Errorf("the policy was asked about %d handed-off requests, want 0", n)
	}
}

// TestConcurrencyLimitHolds: 40 clients, a limit of 3; the upstream never
// has more than 3 requests at once, and every request succeeds.
func TestConcurrencyLimitHolds(t *testing.T) {
	var cur, peak atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		cur.Add(-1)
	}))
	defer up.Close()
	r := newRig(t, hostOf(up), func(o *Options) { o.Limiter = limiter.New(3, 1000) })
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			c, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for range 5 {
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("%v %v", resp, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency at the upstream %d, want exactly 3", p)
	}
	if r.lim.InFlight() != 0 || r.lim.Queued() != 0 {
		t.Errorf("after the load: in flight %d, queued %d", r.lim.InFlight(), r.lim.Queued())
	}
	r.pol.doneCodes(t, 200)
}

// TestClientGoneMidRequest: the request is cancelled; its slot comes back,
// Done reports no status.
func TestClientGoneMidRequest(t *testing.T) {
	started, gone := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(gone)
	}))
	defer up.Close()
	r := newRig(t, hostOf(up))
	c := r.dial()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	select { // the app holds the request
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the upstream")
	}
	c.Close()
	if codes := r.pol.doneCodes(t, 1); codes[0] != 0 {
		t.Errorf("Done code %d, want 0", codes[0])
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Error("the upstream connection stayed open")
	}
	if r.lim.InFlight() != 0 {
		t.Errorf("slot kept: in flight %d", r.lim.InFlight())
	}
}

// TestWaitKickEnd: held requests go on at Kick; End answers running ones.
func TestWaitKickEnd(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer up.Close()
	defer close(release)
	r := newRig(t, hostOf(up))
	r.pol.set(Wait, nil)
	got := make(chan int, 1)
	go func() {
		resp, _ := r.roundTrip("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		got <- resp.StatusCode
	}()
	for r.pol.arrived.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	select {
	case code := <-got:
		t.Fatalf("a held request was answered %d before Kick", code)
	case <-time.After(50 * time.Millisecond):
	}
	if n := r.srv.Held(); n != 1 {
		t.Errorf("Held = %d while one request waits, want 1", n)
	}
	r.pol.set(Forward, nil)
	r.srv.Kick()
	if code := <-got; code != 200 {
		t.Errorf("after Kick: %d, want 200", code)
	}
	if n := r.srv.Held(); n != 0 {
		t.Errorf("Held = %d after Kick, want 0", n)
	}

	go func() {
		resp, _ := r.roundTrip("GET /hang HTTP/1.1\r\nHost: h\r\n\r\n")
		got <- resp.StatusCode
	}()
	for r.lim.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	r.srv.End(NewReply(504, true, "over\n"))
	if code := <-got; code != 504 {
		t.Errorf("after End: %d, want 504", code)
	}
}

// TestProbesAndQueueFull: the readiness path is the policy's, the health
// path is forwarded without a slot, a full queue gets QueueFull.
func TestProbesAndQueueFull(t *testing.T) {
	up := echo(t)
	r := newRig(t, hostOf(up), func(o *Options) { o.Limiter = limiter.New(1, 0) })
	r.pol.setProbe(NewReply(503, false, "starting\n"))
	for _, path := range []string{"/ready", "/ready?x=1", "/re%61dy"} {
		if resp, body := r.roundTrip("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 503 || body != "starting\n" {
			t.Errorf("%s: %d %q, want the policy's answer", path, resp.StatusCode, body)
		}
	}
	r.lim.TryAcquire() // the only slot
	if resp, _ := r.roundTrip("GET /health HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 200 {
		t.Errorf("/health with no slot free: %d, want 200", resp.StatusCode)
	}
	if resp, body := r.roundTrip("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 503 || body != "queue full\n" {
		t.Errorf("no slot and no queue: %d %q, want the QueueFull answer", resp.StatusCode, body)
	}
	r.lim.Release()
}

// TestShutdownClosesQuietConnections: idle connections are closed at
// once, a request in progress finishes.
func TestShutdownClosesQuietConnections(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
	}))
	defer up.Close()
	r := newRig(t, hostOf(up))
	idle := r.dial()
	defer idle.Close()
	r.send(idle, bufio.NewReader(idle), "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	got := make(chan *http.Response, 1)
	go func() {
		resp, _ := r.roundTrip("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
		got <- resp
	}()
	for r.lim.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan int)
	go func() { closed <- r.srv.Shutdown(5 * time.Second) }()
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: %v, want EOF", err)
	}
	close(release)
	if resp := <-got; resp.StatusCode != 200 || !resp.Close {
		t.Errorf("request in progress at shutdown: %d close=%v, want 200 and Connection: close", resp.StatusCode, resp.Close)
	}
	if n := <-closed; n != 1 {
		t.Errorf("Shutdown closed %d quiet connections, want 1", n)
	}
}

// rawUpstream serves each connection with handle, for as long as it
// returns true.
func rawUpstream(t *testing.T, handle func(net.Conn, *http.Request) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for {
					req := readRequest(br)
					if req == nil || !handle(c, req) {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

func readRequest(br *bufio.Reader) *http.Request {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil
	}
	io.Copy(io.Discard, req.Body)
	return req
}

// TestResendAfterSilentClose: a request the app took on a kept-alive
// connection and closed without answering is resent once (it is
// idempotent). If the resend is refused, the app died with the request,
// and the answer is 502, not the policy's refusal: that says the request
// was not processed, and the first attempt may have been. If the app
// answers the resend with its drain marker, it did not process it, and
// the policy's refusal stands.
func TestResendAfterSilentClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resend func(ln net.Listener) // what the app does about the resend
		code   int
		body   string
	}{
		{"refused", func(ln net.Listener) { ln.Close() }, 502, "the app closed the connection without answering\n"},
		{"drain marker", func(ln net.Listener) {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			if readRequest(bufio.NewReader(c)) != nil {
				io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nX-Ebb-Drain: 1\r\nContent-Length: 0\r\n\r\n")
			}
		}, 503, "refused\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				br := bufio.NewReader(c)
				if readRequest(br) == nil {
					c.Close()
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				if readRequest(br) == nil {
					c.Close()
					return
				}
				// The resend's connection is made (or refused) only after
				// this one closes: prepare for it first.
				next := make(chan struct{})
				go func() { defer close(next); tc.resend(ln) }()
				if tc.name == "refused" {
					<-next
				}
				c.Close()
				<-next
			}()
			r := newRig(t, ln.Addr().String())
			c := r.dial()
			defer c.Close()
			br := bufio.NewReader(c)
			if resp, body := r.send(c, br, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("first request: %d %q", resp.StatusCode, body)
			}
			if resp, body := r.send(c, br, "GET /work HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != tc.code || body != tc.body {
				t.Errorf("request the app closed its connection on: %d %q, want %d %q", resp.StatusCode, body, tc.code, tc.body)
			}
			<-done
			if r.lim.InFlight() != 0 {
				t.Errorf("slot kept: in flight %d", r.lim.InFlight())
			}
		})
	}
}
