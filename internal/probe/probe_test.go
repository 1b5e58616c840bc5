package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHTTPCheck(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ready" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	p := &Prober{Addr: srv.Listener.Addr().String(), Path: "/ready"}
	defer p.Close()

	if err := p.Check(context.Background()); !errors.Is(err, ErrNotReady) {
		t.Fatalf("503: err = %v, want ErrNotReady", err)
	}
	status.Store(http.StatusOK)
	if err := p.Check(context.Background()); err != nil {
		t.Fatalf("200: err = %v, want nil", err)
	}
	status.Store(http.StatusNoContent)
	if err := p.Check(context.Background()); !errors.Is(err, ErrNotReady) {
		t.Fatalf("204: err = %v, want ErrNotReady (only 200 counts)", err)
	}
}

func TestHTTPCheckTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	p := &Prober{Addr: srv.Listener.Addr().String(), Path: "/", Timeout: 50 * time.Millisecond}
	defer p.Close()
	start := time.Now()
	if err := p.Check(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("check took %v with a 50ms timeout", d)
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	p := &Prober{Addr: addr}
	if err := p.Check(context.Background()); err != nil {
		t.Fatalf("listening: err = %v", err)
	}
	ln.Close()
	if err := p.Check(context.Background()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("closed: err = %v, want ECONNREFUSED", err)
	}
}

// TestWaitReadyNoticesStartQuickly starts listening 100 ms after WaitReady
// begins and checks that readiness is seen within a few tens of
// milliseconds, thanks to the fast initial polling.
func TestWaitReadyNoticesStartQuickly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var listenedAt atomic.Int64
	srvc := make(chan *http.Server, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("relisten: %v", err)
			return
		}
		listenedAt.Store(time.Now().UnixNano())
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
		srvc <- srv
		_ = srv.Serve(ln)
	}()
	p := &Prober{Addr: addr, Path: "/ready"}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := WaitReady(ctx, p, Backoff{}, nil); err != nil {
		t.Fatal(err)
	}
	lag := time.Since(time.Unix(0, listenedAt.Load()))
	// With 5 ms growing by 1.5x the wait in force at ~100 ms is < 40 ms.
	if lag > time.Second {
		t.Errorf("readiness noticed %v after listening", lag)
	}
	t.Logf("readiness noticed %v after listening", lag)
	shutdownCtx, c2 := context.WithTimeout(context.Background(), time.Second)
	defer c2()
	_ = (<-srvc).Shutdown(shutdownCtx)
}

type fakeChecker struct{ calls atomic.Int32 }

func (f *fakeChecker) Check(context.Context) error {
	f.calls.Add(1)
	return errors.New("refused")
}

func TestWaitReadyStops(t *testing.T) {
	f := &fakeChecker{}
	stop := make(chan struct{})
	go func() { time.Sleep(30 * time.Millisecond); close(stop) }()
	err := WaitReady(context.Background(), f, Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}, stop)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v, want ErrStopped", err)
	}
	if f.calls.Load() < 3 {
		t.Errorf("only %d checks in 30ms at 1-2ms intervals", f.calls.Load())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := WaitReady(ctx, f, Backoff{}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

type scriptedChecker struct{ results chan error }

func (s *scriptedChecker) Check(context.Context) error { return <-s.results }

func TestMonitorReportsTransitions(t *testing.T) {
	sc := &scriptedChecker{results: make(chan error, 16)}
	fail := errors.New("down")
	for _, e := range []error{nil, fail, fail, nil, fail, fail, fail, fail, nil, nil} {
		sc.results <- e
	}
	tick := make(chan time.Time)
	m := &Monitor{Checker: sc, FailureThreshold: 3, SuccessThreshold: 2, Tick: tick}
	type event struct {
		healthy bool
		err     error
	}
	var events []event
	done := make(chan error, 1)
	go func() {
		done <- m.Run(context.Background(), func(h bool, err error) { events = append(events, event{h, err}) })
	}()
	for range 10 {
		tick <- time.Now()
	}
	close(tick)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []event{{false, fail}, {true, nil}}
	if len(events) != len(want) || events[0] != want[0] || events[1] != want[1] {
		t.Fatalf("events = %v, want %v", events, want)
	}
}

func TestBackoffSchedule(t *testing.T) {
	b := Backoff{}.orDefault()
	if b != DefaultBackoff {
		t.Fatalf("zero Backoff = %+v, want DefaultBackoff", b)
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		b             Backoff
		wait, elapsed time.Duration
		want          time.Duration
	}{
		{DefaultBackoff, 5 * ms, 0, 5 * ms},
		{DefaultBackoff, 5 * ms, 1999 * ms, 5 * ms}, // steady for the first 2 s
		{DefaultBackoff, 5 * ms, 2 * time.Second, 7500 * time.Microsecond},
		{DefaultBackoff, 200 * ms, 5 * time.Second, 250 * ms},                                // capped
		{Backoff{Initial: 5 * ms, Max: 100 * ms, Factor: 2}.orDefault(), 5 * ms, 0, 10 * ms}, // no steady phase
	} {
		if got := tc.b.next(tc.wait, tc.elapsed); got != tc.want {
			t.Errorf("%+v.next(%s, %s) = %s, want %s", tc.b, tc.wait, tc.elapsed, got, tc.want)
		}
	}
}
