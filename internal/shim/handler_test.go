package shim

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebb-run/ebb/graceful"
)

// newTestShim returns a ready shim in front of backend.
func newTestShim(t testing.TB, backend *httptest.Server, o Options) *shim {
	t.Helper()
	if o.Concurrency == 0 {
		o.Concurrency = 1000
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.Now = time.Now
	s := newShim(o, 1000, backend.Listener.Addr().String())
	s.appDone = make(chan struct{})
	s.st.Store(int32(stateReady))
	close(s.readyc)
	t.Cleanup(s.px.Close)
	return s
}

func okBackend() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ready" {
			w.WriteHeader(http.StatusTeapot) // the app's own answer, passed on when ready
			return
		}
		_, _ = io.WriteString(w, "hello")
	}))
}

func TestReadinessAnswers(t *testing.T) {
	backend := okBackend()
	defer backend.Close()
	s := newTestShim(t, backend, Options{ReadyPath: "/ready"})
	for _, tt := range []struct {
		st   state
		want int
	}{
		{stateStarting, 503}, {stateReady, http.StatusTeapot}, {stateLameDuck, 503},
		{stateDraining, 503}, {stateStopping, 503}, {stateStopped, 503},
	} {
		s.st.Store(int32(tt.st))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
		if rec.Code != tt.want {
			t.Errorf("state %v: /ready = %d, want %d", tt.st, rec.Code, tt.want)
		}
	}
}

// TestLameDuckServesDrainingRefuses checks the two drain phases.
func TestLameDuckServesDrainingRefuses(t *testing.T) {
	backend := okBackend()
	defer backend.Close()
	s := newTestShim(t, backend, Options{ReadyPath: "/ready"})
	s.st.Store(int32(stateLameDuck))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 200 || rec.Body.String() != "hello" {
		t.Errorf("lame duck: %d %q, want 200 hello", rec.Code, rec.Body)
	}
	s.st.Store(int32(stateDraining))
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	h := rec.Result().Header
	if rec.Code != 503 || h.Get(graceful.DrainHeader) == "" || h.Get("Connection") != "close" || h.Get("Retry-After") == "" {
		t.Errorf("draining: %d %v, want 503 + drain marker + Connection: close + Retry-After", rec.Code, h)
	}
}

// TestNoRequestSlipsPastTheDrain races requests against the drain's state
// change: every request is either refused or counted before the drain
// looks at the count, never forwarded after the drain saw zero.
func TestNoRequestSlipsPastTheDrain(t *testing.T) {
	var forwardedAfter sync.Mutex
	var drained bool
	var slipped int
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwardedAfter.Lock()
		if drained {
			slipped++
		}
		forwardedAfter.Unlock()
	}))
	defer backend.Close()
	for range 20 {
		s := newTestShim(t, backend, Options{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
				}
			})
		}
		time.Sleep(time.Millisecond)
		s.advance(stateDraining)
		for s.entered.Load() > 0 {
			<-s.idle
		}
		forwardedAfter.Lock()
		drained = true
		forwardedAfter.Unlock()
		wg.Wait()
		forwardedAfter.Lock()
		drained = false
		forwardedAfter.Unlock()
	}
	if slipped > 0 {
		t.Fatalf("%d requests reached the app after the drain saw none in flight", slipped)
	}
}

func TestStatusRecorderCounts(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	defer backend.Close()
	s := newTestShim(t, backend, Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var out strings.Builder
	mfs, _ := s.m.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "ebb_run_requests_total" {
			for _, m := range mf.GetMetric() {
				out.WriteString(m.GetLabel()[0].GetValue() + "=" + strings.TrimRight(strings.TrimRight(
					strings.TrimPrefix(m.GetCounter().String(), "value:"), "0"), ".") + " ")
			}
		}
	}
	if !strings.Contains(out.String(), "201=1") {
		t.Errorf("requests by code: %s, want 201=1", out.String())
	}
}

// BenchmarkShimOverhead compares the shim's handler with a bare
// proxy.Forward to the same backend, to show what the shim adds per request
// (allocations above all).
func BenchmarkShimOverhead(b *testing.B) {
	backend := okBackend()
	defer backend.Close()
	s := newTestShim(b, backend, Options{ReadyPath: "/ready"})
	for _, bb := range []struct {
		name string
		h    http.Handler
	}{
		{"forward", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = s.px.Forward(w, r, s.appAddr)
		})},
		{"shim", s},
	} {
		b.Run(bb.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/x", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				req.Header = http.Header{}
				bb.h.ServeHTTP(w, req)
			}
		})
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// TestProbesBypassTheLimit: with every slot taken and the queue full, the
// health and readiness paths still reach the app.
func TestProbesBypassTheLimit(t *testing.T) {
	backend := okBackend()
	defer backend.Close()
	s := newTestShim(t, backend, Options{ReadyPath: "/ready", HealthPath: "/health", Concurrency: 1})
	s.lim = newFullLimiter(t)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 503 {
		t.Fatalf("with the queue full: %d, want 503", rec.Code)
	}
	for path, want := range map[string]int{"/health": 200, "/ready": http.StatusTeapot} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("%s with the limiter full: %d, want %d", path, rec.Code, want)
		}
	}
}

// TestInitTimeout: a request that waited for the app's readiness longer
// than the initialization timeout gets a retryable 503.
func TestInitTimeout(t *testing.T) {
	backend := okBackend()
	defer backend.Close()
	s := newTestShim(t, backend, Options{})
	s.st.Store(int32(stateStarting))
	s.readyc = make(chan struct{})
	s.initDeadline = time.Now().Add(30 * time.Millisecond)
	rec := httptest.NewRecorder()
	start := time.Now()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 503 || rec.Header().Get(graceful.DrainHeader) == "" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("after the init timeout: %d %v, want 503 with the drain marker", rec.Code, rec.Header())
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answered after %v, before the timeout", d)
	}
	if s.entered.Load() != 0 || s.waitingReady.Load() != 0 {
		t.Errorf("counters not restored: entered %d, waiting %d", s.entered.Load(), s.waitingReady.Load())
	}
}

// TestLameDuckBeforeReadyWaits: SIGTERM came while the app was starting;
// a request still waits for the app's readiness rather than reaching an
// app that is not ready, and is answered once it is.
func TestLameDuckBeforeReadyWaits(t *testing.T) {
	backend := okBackend()
	defer backend.Close()
	s := newTestShim(t, backend, Options{})
	s.st.Store(int32(stateLameDuck))
	s.readyc = make(chan struct{})
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		done <- rec
	}()
	select {
	case rec := <-done:
		t.Fatalf("answered %d before the app was ready", rec.Code)
	case <-time.After(50 * time.Millisecond):
	}
	close(s.readyc)
	if rec := <-done; rec.Code != 200 || rec.Body.String() != "hello" {
		t.Errorf("once ready: %d %q, want 200 hello", rec.Code, rec.Body)
	}
}
