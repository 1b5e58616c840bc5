package graceful_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-run/ebb/graceful"
)

// harness is a graceful.Server serving on a real 127.0.0.1 listener.
type harness struct {
	t      *testing.T
	g      *graceful.Server
	url    string
	addr   string
	stop   context.CancelFunc
	done   chan error // receives Serve's result
	client *http.Client
}

// start serves handler with a Server made from opts until the test ends or
// h.stop is called.
func start(t *testing.T, opts graceful.Options, handler http.Handler) *harness {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return serveWith(t, graceful.New(opts), handler)
}

// serveWith serves handler with g.
func serveWith(t *testing.T, g *graceful.Server, handler http.Handler) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{
		t:    t,
		g:    g,
		url:  "http://" + ln.Addr().String(),
		addr: ln.Addr().String(),
		stop: cancel,
		done: make(chan error, 1),
		// No keep-alive: every request opens its own connection, as a new
		// client would.
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second},
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { h.done <- h.g.Serve(ctx, srv, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of cancellation")
		}
	})
	return h
}

// get requests path and returns the response with its body read.
func (h *harness) get(path string) (*http.Response, string, error) {
	resp, err := h.client.Get(h.url + path)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// mustGet is get that fails the test on a transport error.
func (h *harness) mustGet(path string) (*http.Response, string) {
	h.t.Helper()
	resp, body, err := h.get(path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return resp, body
}

// waitFor polls cond (a state change inside this process) for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// serveDone waits up to d for Serve to return and returns when it returned
// and its error.
func (h *harness) serveDone(d time.Duration) (time.Time, error) {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		return time.Now(), err
	case <-time.After(d):
		h.t.Fatalf("Serve did not return within %v", d)
		return time.Time{}, nil
	}
}

// assertRunning fails if Serve has returned.
func (h *harness) assertRunning() {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.done <- err
		h.t.Fatalf("Serve returned (%v) while a request was in flight", err)
	default:
	}
}

// blocker is a handler whose requests block until release is called.
type blocker struct {
	release chan struct{}
	once    sync.Once
}

func newBlocker() *blocker { return &blocker{release: make(chan struct{})} }

func (b *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-b.release:
		io.WriteString(w, "done")
	case <-r.Context().Done():
		http.Error(w, "cancelled", http.StatusServiceUnavailable)
	}
}

func (b *blocker) Release() { b.once.Do(func() { close(b.release) }) }

// result is a request's outcome.
type result struct {
	code int
	body string
	err  error
	at   time.Time
}

// goGet issues GET path in the background.
func (h *harness) goGet(path string) <-chan result {
	c := make(chan result, 1)
	go func() {
		resp, body, err := h.get(path)
		r := result{body: body, err: err, at: time.Now()}
		if resp != nil {
			r.code = resp.StatusCode
		}
		c <- r
	}()
	return c
}

func readiness(t *testing.T, h *harness) (int, map[string]any) {
	t.Helper()
	resp, body := h.mustGet("/ready")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("readiness body %q: %v", body, err)
	}
	return resp.StatusCode, m
}

// assertDrainRefusal checks a response is the drain 503.
func assertDrainRefusal(t *testing.T, resp *http.Response, wantClose bool) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := resp.Header.Get(graceful.DrainHeader); got != "1" {
		t.Errorf("%s = %q, want 1", graceful.DrainHeader, got)
	}
	if resp.Close != wantClose {
		t.Errorf("Connection: close = %v, want %v (headers %v)", resp.Close, wantClose, resp.Header)
	}
}

func TestDrainWaitsForInFlightAndRefusesNew(t *testing.T) {
	b := newBlocker()
	h := start(t, graceful.Options{GracePeriod: 10 * time.Second}, b)
	if code, m := readiness(t, h); code != 200 || m["status"] != "ready" {
		t.Fatalf("readiness before the drain: %d %v", code, m)
	}
	inflight := h.goGet("/block")
	waitFor(t, "the request to be in flight", func() bool { return h.g.Active() == 1 })
	if code, m := readiness(t, h); code != 200 || m["active_requests"] != 1.0 {
		t.Fatalf("readiness with one request in flight: %d %v", code, m)
	}

	h.stop()
	waitFor(t, "the drain to begin", func() bool {
		select {
		case <-h.g.Draining():
			return true
		default:
			return false
		}
	})
	if code, m := readiness(t, h); code != 503 || m["status"] != "draining" || m["active_requests"] != 1.0 {
		t.Fatalf("readiness while draining: %d %v", code, m)
	}
	for range 3 {
		resp, _ := h.mustGet("/new")
		assertDrainRefusal(t, resp, true)
	}
	time.Sleep(50 * time.Millisecond)
	h.assertRunning()

	b.Release()
	r := <-inflight
	if r.err != nil || r.code != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %d %q %v; want 200 done", r.code, r.body, r.err)
	}
	at, err := h.serveDone(time.Second)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := at.Sub(r.at); d > 100*time.Millisecond {
		t.Errorf("Serve returned %v after the last request finished, want < 100ms", d)
	}
}

func TestIdleStopReturnsAtOnce(t *testing.T) {
	var hookRan bool
	h := start(t, graceful.Options{GracePeriod: 10 * time.Second}, http.NotFoundHandler())
	var hookDeadline time.Time
	h.g.OnShutdown(func(ctx context.Context) error {
		hookRan = true
		hookDeadline, _ = ctx.Deadline()
		return nil
	})
	h.mustGet("/ready")
	t0 := time.Now()
	h.stop()
	at, err := h.serveDone(time.Second)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := at.Sub(t0); d > 100*time.Millisecond {
		t.Errorf("idle Serve returned %v after the stop, want < 100ms", d)
	}
	if !hookRan {
		t.Fatal("shutdown hook did not run")
	}
	if left := hookDeadline.Sub(t0); left < 9*time.Second || left > 10*time.Second+50*time.Millisecond {
		t.Errorf("hook deadline %v after the stop, want the end of the 10s grace period", left)
	}
	if _, _, err := h.get("/ready"); err == nil {
		t.Error("the listener still accepts after Serve returned")
	}
}

func TestLameDuckServesThenRefuses(t *testing.T) {
	b := newBlocker()
	mux := http.NewServeMux()
	mux.Handle("/block", b)
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })
	const lameDuck = 300 * time.Millisecond
	h := start(t, graceful.Options{GracePeriod: 10 * time.Second, LameDuck: lameDuck}, mux)
	inflight := h.goGet("/block")
	waitFor(t, "the request to be in flight", func() bool { return h.g.Active() == 1 })

	t0 := time.Now()
	h.stop()
	<-h.g.Draining()
	if code, _ := readiness(t, h); code != 503 {
		t.Fatalf("readiness during the lame-duck period = %d, want 503", code)
	}
	resp, body := h.mustGet("/hello")
	if time.Since(t0) < lameDuck {
		if resp.StatusCode != 200 || body != "hello" || !resp.Close {
			t.Fatalf("during the lame-duck period: %d %q close=%v; want 200 hello with Connection: close", resp.StatusCode, body, resp.Close)
		}
	}
	// Refusals start when the lame-duck period ends, counted from when
	// the drain began (after t0), however late the timer fires.
	time.Sleep(time.Until(t0.Add(lameDuck)))
	for {
		resp, _ = h.mustGet("/hello")
		if resp.StatusCode != 200 {
			break
		}
		if time.Since(t0) > lameDuck+2*time.Second {
			t.Fatalf("still served %v after the stop, with a %v lame-duck period", time.Since(t0), lameDuck)
		}
		time.Sleep(5 * time.Millisecond)
	}
	assertDrainRefusal(t, resp, true)

	b.Release()
	if r := <-inflight; r.code != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %d %q %v", r.code, r.body, r.err)
	}
	if _, err := h.serveDone(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestGracePeriodCancelsRequests(t *testing.T) {
	type outcome struct {
		at    time.Time
		cause error
	}
	cancelled := make(chan outcome, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		cancelled <- outcome{time.Now(), context.Cause(r.Context())}
		http.Error(w, "cancelled", http.StatusServiceUnavailable)
	})
	// A reserve as long as the wait for cancellation, so that "at once
	// after the cancellation" and "at the deadline" are a second apart.
	const grace, reserve = 2 * time.Second, time.Second
	h := start(t, graceful.Options{GracePeriod: grace, CleanupReserve: reserve}, handler)
	var hookDeadline, hookAt time.Time
	var hookErr error
	h.g.OnShutdown(func(ctx context.Context) error {
		hookDeadline, _ = ctx.Deadline()
		hookAt, hookErr = time.Now(), ctx.Err()
		return nil
	})
	req := h.goGet("/forever")
	waitFor(t, "the request to be in flight", func() bool { return h.g.Active() == 1 })
	t0 := time.Now()
	h.stop()
	o := <-cancelled
	if !errors.Is(o.cause, graceful.ErrGracePeriodExpired) {
		t.Errorf("cancellation cause %v, want ErrGracePeriodExpired", o.cause)
	}
	// Not before grace - reserve, and before the deadline.
	if d := o.at.Sub(t0); d < grace-reserve-10*time.Millisecond || d >= grace {
		t.Errorf("request cancelled %v after the stop, want %v (grace %v - reserve %v)", d, grace-reserve, grace, reserve)
	}
	if r := <-req; r.code != 503 {
		t.Errorf("cancelled request answered %d %v, want its handler's 503", r.code, r.err)
	}
	at, err := h.serveDone(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// At once after the cancellation, not at the deadline a second later.
	if d := at.Sub(o.at); d > reserve/2 {
		t.Errorf("Serve returned %v after the cancellation, want at once", d)
	}
	// The hook runs after the cancellation, before the deadline, with the
	// grace period's end as its deadline: the reserve is what it has.
	if d := hookDeadline.Sub(t0); d < grace || d > grace+500*time.Millisecond {
		t.Errorf("hook deadline %v after the stop, want the end of the %v grace period", d, grace)
	}
	if hookAt.Before(o.at) || hookErr != nil {
		t.Errorf("hook ran %v after the cancellation with its context %v; want after it, with time left", hookAt.Sub(o.at), hookErr)
	}
}

func TestHijackedConnectionIsWaitedFor(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		for { // echo lines until the client closes
			line, err := rw.ReadString('\n')
			if err != nil {
				return
			}
			rw.WriteString(line)
			rw.Flush()
		}
	})
	h := start(t, graceful.Options{GracePeriod: 10 * time.Second}, handler)
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /echo HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	waitFor(t, "the hijacked request to be in flight", func() bool { return h.g.Active() == 1 })
	h.stop()
	<-h.g.Draining()
	time.Sleep(200 * time.Millisecond)
	h.assertRunning()
	io.WriteString(conn, "still there\n")
	if line, err := br.ReadString('\n'); err != nil || line != "still there\n" {
		t.Fatalf("echo while draining: %q %v", line, err)
	}
	closed := time.Now()
	conn.Close()
	at, _ := h.serveDone(time.Second)
	if d := at.Sub(closed); d > 100*time.Millisecond {
		t.Errorf("Serve returned %v after the hijacked connection closed, want < 100ms", d)
	}
}

func TestConcurrencyQueue(t *testing.T) {
	b := newBlocker()
	h := start(t, graceful.Options{MaxConcurrency: 2, QueueSize: 1}, b)
	first := []<-chan result{h.goGet("/1"), h.goGet("/2")}
	waitFor(t, "two requests in flight", func() bool { return h.g.Active() == 2 })
	queued := h.goGet("/3")
	waitFor(t, "one request queued", func() bool { return h.g.Queued() == 1 })

	// A keep-alive client, to see that a full queue does not close the
	// connection (the server is not going away).
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(h.url + "/4")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assertDrainRefusal(t, resp, false)
	if code, m := readiness(t, h); code != 200 || m["active_requests"] != 2.0 {
		t.Fatalf("readiness while saturated: %d %v (probes must not queue)", code, m)
	}
	select {
	case r := <-queued:
		t.Fatalf("queued request finished early: %+v", r)
	default:
	}
	b.Release()
	for _, c := range append(first, queued) {
		if r := <-c; r.code != 200 || r.body != "done" {
			t.Fatalf("request: %d %q %v; want 200 done", r.code, r.body, r.err)
		}
	}
}

func TestQueuedRequestsRefusedOnDrain(t *testing.T) {
	b := newBlocker()
	h := start(t, graceful.Options{MaxConcurrency: 1, QueueSize: 5, GracePeriod: 10 * time.Second}, b)
	running := h.goGet("/1")
	waitFor(t, "one request in flight", func() bool { return h.g.Active() == 1 })
	queued := h.goGet("/2")
	waitFor(t, "one request queued", func() bool { return h.g.Queued() == 1 })
	h.stop()

	resp, err := h.client.Get(h.url + "/3")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	assertDrainRefusal(t, resp, true)
	r := <-queued
	if r.code != 503 || !strings.Contains(r.body, "not processed") {
		t.Fatalf("queued request: %d %q %v; want the drain 503", r.code, r.body, r.err)
	}
	b.Release()
	if r := <-running; r.code != 200 {
		t.Fatalf("running request: %d %v", r.code, r.err)
	}
}

func TestManualStart(t *testing.T) {
	h := start(t, graceful.Options{ManualStart: true}, http.NotFoundHandler())
	if code, m := readiness(t, h); code != 503 || m["status"] != "starting" {
		t.Fatalf("readiness before Started: %d %v", code, m)
	}
	h.g.Started()
	if code, m := readiness(t, h); code != 200 || m["status"] != "ready" {
		t.Fatalf("readiness after Started: %d %v", code, m)
	}
}

func TestHooksRunInReverseAndErrorsJoin(t *testing.T) {
	h := start(t, graceful.Options{}, http.NotFoundHandler())
	var order []string
	errA := errors.New("a failed")
	h.g.OnShutdown(func(context.Context) error { order = append(order, "a"); return errA })
	h.g.OnShutdown(func(context.Context) error { order = append(order, "b"); return nil })
	h.stop()
	_, err := h.serveDone(time.Second)
	if !errors.Is(err, errA) {
		t.Errorf("Serve error %v, want it to wrap the hook's", err)
	}
	if strings.Join(order, ",") != "b,a" {
		t.Errorf("hooks ran in order %v, want b,a", order)
	}
}

func TestMiddlewareCountsOnceAndExempts(t *testing.T) {
	b := newBlocker()
	g := graceful.New(graceful.Options{
		Logger:      slog.New(slog.DiscardHandler),
		GracePeriod: 10 * time.Second,
		Exempt:      func(r *http.Request) bool { return r.URL.Path == "/metrics" },
	})
	mux := http.NewServeMux()
	mux.Handle("/block", b)
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics") })
	// Serve wraps the handler again; each request must count once.
	h := serveWith(t, g, g.Middleware(mux))
	inflight := h.goGet("/block")
	waitFor(t, "the request to be in flight", func() bool { return g.Active() >= 1 })
	time.Sleep(20 * time.Millisecond)
	if n := g.Active(); n != 1 {
		t.Fatalf("Active = %d with one request wrapped twice, want 1", n)
	}
	h.stop()
	<-g.Draining()
	time.Sleep(20 * time.Millisecond) // past the (zero) lame-duck period
	if resp, body := h.mustGet("/metrics"); resp.StatusCode != 200 || body != "metrics" {
		t.Fatalf("exempt request while draining: %d %q; want 200 metrics", resp.StatusCode, body)
	}
	if n := g.Active(); n != 1 {
		t.Fatalf("Active = %d after an exempt request, want 1", n)
	}
	b.Release()
	if r := <-inflight; r.code != 200 {
		t.Fatalf("in-flight request: %d %v", r.code, r.err)
	}
}

func TestSignalStartsDrain(t *testing.T) {
	b := newBlocker()
	h := start(t, graceful.Options{GracePeriod: 10 * time.Second}, b)
	inflight := h.goGet("/block")
	waitFor(t, "the request to be in flight", func() bool { return h.g.Active() == 1 })
	if code, _ := readiness(t, h); code != 200 { // Serve is past signal.Notify
		t.Fatalf("readiness %d before the signal", code)
	}
	t0 := time.Now()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.g.Draining():
		t.Logf("drain began %v after SIGTERM", time.Since(t0))
	case <-time.After(5 * time.Second):
		t.Fatal("no drain 5s after SIGTERM")
	}
	b.Release()
	if r := <-inflight; r.code != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %d %q %v", r.code, r.body, r.err)
	}
	if _, err := h.serveDone(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestServeTwice(t *testing.T) {
	h := start(t, graceful.Options{}, http.NotFoundHandler())
	h.mustGet("/ready") // the first Serve is running
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.g.Serve(context.Background(), &http.Server{}, ln); err == nil {
		t.Fatal("second Serve succeeded")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("second Serve left its listener open")
	}
}

func TestSecondSignalCancelsAtOnce(t *testing.T) {
	cancelled := make(chan error, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		cancelled <- context.Cause(r.Context())
	})
	h := start(t, graceful.Options{GracePeriod: 20 * time.Second, LameDuck: 10 * time.Second}, handler)
	req := h.goGet("/forever")
	waitFor(t, "the request to be in flight", func() bool { return h.g.Active() == 1 })
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-h.g.Draining()
	t0 := time.Now()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case cause := <-cancelled:
		if !errors.Is(cause, graceful.ErrGracePeriodExpired) {
			t.Errorf("cause %v, want ErrGracePeriodExpired", cause)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("second signal did not cancel the request")
	}
	<-req
	at, err := h.serveDone(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Serve returned %v after the second signal", at.Sub(t0))
}

func TestListenAndServe(t *testing.T) {
	g := graceful.New(graceful.Options{Logger: slog.New(slog.DiscardHandler)})
	err := g.ListenAndServe(context.Background(), &http.Server{Addr: "127.0.0.1:-1"})
	if err == nil || !strings.HasPrefix(err.Error(), "graceful: listen: ") {
		t.Fatalf("ListenAndServe on a bad address = %v, want a graceful: listen error", err)
	}

	g = graceful.New(graceful.Options{Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.ListenAndServe(ctx, &http.Server{Addr: "127.0.0.1:0"}); err != nil {
		t.Fatalf("ListenAndServe with a cancelled context = %v, want nil", err)
	}
}

func TestReadyPathOptions(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "app's own") })
	h := start(t, graceful.Options{ReadyPath: "/healthz/ready"}, mux)
	if resp, body := h.mustGet("/healthz/ready"); resp.StatusCode != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("custom ReadyPath: %d %q", resp.StatusCode, body)
	}
	if _, body := h.mustGet("/ready"); body != "app's own" {
		t.Errorf("/ready with a custom ReadyPath reached %q, want the app's handler", body)
	}
	resp, err := h.client.Head(h.url + "/healthz/ready")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("HEAD readiness: %v %v", resp, err)
	}

	h2 := start(t, graceful.Options{ReadyPath: "-"}, mux)
	if _, body := h2.mustGet("/ready"); body != "app's own" {
		t.Errorf(`ReadyPath "-": /ready reached %q, want the app's handler`, body)
	}
}
