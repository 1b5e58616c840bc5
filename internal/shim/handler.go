package shim

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ebb-run/ebb/internal/limiter"
	"github.com/ebb-run/ebb/internal/proxy"
)

// ServeHTTP is the hot path: every request to the shim's listener.
//
// A request counts as entered before it looks at the state, and the drain
// waits for entered to reach zero after moving the state on; with both
// being sequentially consistent atomics, a request either sees the drain and
// is refused, or is waited for. It never slips through to an app that has
// been told to stop.
func (s *shim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case s.readyPath:
		s.serveReady(w, r)
		return
	case s.healthPath:
		s.passThrough(w, r)
		return
	}
	start := time.Now()
	s.entered.Add(1)
	defer s.leave()

	st := s.state()
	if st >= stateDraining {
		writeDrained(w)
		s.m.observe(http.StatusServiceUnavailable, time.Since(start))
		return
	}
	if !s.isReady() && !s.awaitReady(w, r, start) {
		return
	}
	if err := s.lim.Acquire(r.Context()); err != nil {
		s.refuse(w, r, err, start)
		return
	}
	code := s.forward(w, r)
	s.m.observe(code, time.Since(start))
}

// leave undoes the entered count and wakes the drain when the last request
// is gone.
func (s *shim) leave() {
	if s.entered.Add(-1) == 0 && s.state() >= stateDraining {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
}

// forward proxies a request that holds a concurrency slot and returns the
// status the client got.
func (s *shim) forward(w http.ResponseWriter, r *http.Request) int {
	defer s.lim.Release()
	if s.state() == stateStopped {
		// Queued behind requests the app took with it when it exited.
		writeStatus(w, http.StatusBadGateway, msgExited)
		return http.StatusBadGateway
	}
	rec := proxy.RecordStatus(w)
	defer rec.Release()
	err := s.px.Forward(rec, r, s.appAddr)
	if err != nil && rec.Code() == 0 && proxy.Retryable(err) {
		// Nothing was written and the app did not process the request:
		// it refused the connection or answered with its own drain marker.
		if s.state() == stateStopped {
			writeStatus(w, http.StatusBadGateway, msgExited)
			return http.StatusBadGateway
		}
		writeBusy(w, msgRefused)
		return http.StatusServiceUnavailable
	}
	if rec.Code() == 0 && r.Header.Get("Upgrade") != "" && err == nil {
		return http.StatusSwitchingProtocols // the tunnel wrote its 101 itself
	}
	return rec.Code()
}

// refuse answers a request that got no concurrency slot.
func (s *shim) refuse(w http.ResponseWriter, r *http.Request, err error, start time.Time) {
	code := http.StatusServiceUnavailable
	switch {
	case errors.Is(err, limiter.ErrQueueFull):
		writeBusy(w, msgQueueFull)
	default:
		code = s.writeContextEnd(w, r)
	}
	s.m.observe(code, time.Since(start))
}

// writeContextEnd answers a request whose context ended while it waited:
// 504 when the grace period ran out, 502 when the app exited, nothing when
// the client went away. It returns the status written (0 for none).
func (s *shim) writeContextEnd(w http.ResponseWriter, r *http.Request) int {
	switch cause := context.Cause(r.Context()); {
	case errors.Is(cause, context.DeadlineExceeded):
		writeStatus(w, http.StatusGatewayTimeout, msgTimeout)
		return http.StatusGatewayTimeout
	case errors.Is(cause, errAppExited):
		writeStatus(w, http.StatusBadGateway, msgExited)
		return http.StatusBadGateway
	}
	return 0
}

// awaitReady holds a request that arrived while the app was starting until
// it is ready. It returns false when it answered the request instead: the
// shim started draining, the initialization timeout passed, the app exited,
// or the client left.
func (s *shim) awaitReady(w http.ResponseWriter, r *http.Request, start time.Time) bool {
	s.waitingReady.Add(1)
	defer s.waitingReady.Add(-1)
	var timeout <-chan time.Time
	if !s.initDeadline.IsZero() {
		t := time.NewTimer(time.Until(s.initDeadline))
		defer t.Stop()
		timeout = t.C
	}
	code := http.StatusServiceUnavailable
	select {
	case <-s.readyc:
		if s.state() < stateDraining {
			return true
		}
		writeDrained(w)
	case <-s.drainc:
		writeDrained(w)
	case <-timeout:
		writeBusy(w, msgNotReady)
	case <-s.appDone:
		writeStatus(w, http.StatusBadGateway, msgExited)
		code = http.StatusBadGateway
	case <-r.Context().Done():
		code = s.writeContextEnd(w, r)
	}
	s.m.observe(code, time.Since(start))
	return false
}

// serveReady answers the readiness path: 503 unless the shim is ready, in
// which case the app's own answer decides.
func (s *shim) serveReady(w http.ResponseWriter, r *http.Request) {
	switch st := s.state(); st {
	case stateReady:
		s.passThrough(w, r)
	default:
		w.Header()["Cache-Control"] = []string{"no-store"}
		writeStatus(w, http.StatusServiceUnavailable, st.String()+"\n")
	}
}

// passThrough proxies a probe request without a concurrency slot, so that
// probes are never queued behind traffic.
func (s *shim) passThrough(w http.ResponseWriter, r *http.Request) {
	if err := s.px.Forward(w, r, s.appAddr); err != nil && proxy.Retryable(err) {
		writeStatus(w, http.StatusServiceUnavailable, msgNotAnswering)
	}
}
