package graceful

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"time"
)

// ListenAndServe listens on srv.Addr (":http" when empty) and calls Serve.
// To serve TLS, listen yourself, wrap the listener with tls.NewListener and
// call Serve.
func (s *Server) ListenAndServe(ctx context.Context, srv *http.Server) error {
	addr := srv.Addr
	if addr == "" {
		addr = ":http"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("graceful: listen: %w", err)
	}
	return s.Serve(ctx, srv, ln)
}

// Serve serves srv on ln until a stop signal (Options.Signals) arrives or ctx
// is cancelled, then drains as the package documentation describes and
// returns once the last request has finished and the hooks have run — or
// when the grace period ends. It closes ln.
//
// Serve replaces srv.Handler (http.DefaultServeMux when nil) with
// Middleware(srv.Handler), and declares the app started (see Started) once
// listening unless Options.ManualStart is set. It returns nil after a
// signal or cancellation with no hook failing; otherwise the error of the
// server (if it stopped by itself) joined with those of the hooks. While
// Serve runs, the stop signals do not terminate the process; a second
// signal during the drain ends the lame-duck period and cancels the requests
// in flight at once (as the grace deadline would), so that pressing Ctrl-C
// twice stops a development server promptly.
//
// A Server serves once: a second call returns an error.
func (s *Server) Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	if !s.serving.CompareAndSwap(false, true) {
		ln.Close()
		return errors.New("graceful: Serve called twice on one Server")
	}
	defer s.cancelReqCtx(context.Canceled) // release request-context watchers

	sigs := make(chan os.Signal, 1)
	if len(s.opts.signals) > 0 { // Notify with no signals would relay them all
		signal.Notify(sigs, s.opts.signals...)
		defer signal.Stop(sigs)
	}

	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = s.Middleware(h)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if !s.opts.manualStart {
		s.Started()
	}
	log := s.opts.log
	log.Info("graceful: serving", "addr", ln.Addr().String(), "grace_period", s.opts.grace,
		"lame_duck", s.opts.lameDuck, "max_concurrency", s.opts.maxConcurrency)

	var serveErr error
	var reason string
	select {
	case sig := <-sigs:
		reason = "signal " + sig.String()
	case <-ctx.Done():
		reason = "context: " + context.Cause(ctx).Error()
	case err := <-served:
		served = nil
		reason = "server stopped"
		if !errors.Is(err, http.ErrServerClosed) {
			serveErr = fmt.Errorf("graceful: serve: %w", err)
			reason = serveErr.Error()
		}
	}
	return errors.Join(serveErr, s.drain(srv, served, sigs, reason))
}

// drain runs the shutdown sequence. served delivers the result of
// srv.Serve; nil when it has already been received. A signal on sigs cuts
// the lame-duck period and the wait for requests short.
func (s *Server) drain(srv *http.Server, served <-chan error, sigs <-chan os.Signal, reason string) error {
	// Phase 1: not ready, at once.
	s.beginDrain()
	start := time.Now()

	// hurry is closed when a second signal arrives.
	hurry := make(chan struct{})
	watchDone := make(chan struct{})
	var watcher sync.WaitGroup
	defer watcher.Wait()
	defer close(watchDone)
	watcher.Go(func() {
		select {
		case <-sigs:
			s.opts.log.Warn("graceful: second signal, cancelling requests now")
			close(hurry)
		case <-watchDone:
		}
	})

	deadline := start.Add(s.opts.grace)
	cancelAt := deadline.Add(-s.opts.reserve)
	log := s.opts.log

	active, queued := s.lim.counts()
	log.Info("graceful: draining", "reason", reason, "in_flight", active, "queued", queued,
		"grace_period", s.opts.grace)

	// Phase 2: lame duck — serve new requests normally.
	if d := min(s.opts.lameDuck, time.Until(cancelAt)); d > 0 && served != nil {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-served: // the server stopped by itself: nothing to serve
			served = nil
		case <-hurry:
		}
		t.Stop()
	}

	// Phase 3: refuse new and queued requests; wait for those in flight.
	s.lim.reject()
	active, _ = s.lim.counts()
	log.Info("graceful: refusing new requests", "in_flight", active)
	idle := s.lim.idleChan()
	if !waitUntil(idle, cancelAt, hurry) {
		active, _ = s.lim.counts()
		log.Warn("graceful: grace period over, cancelling requests", "in_flight", active)
		s.cancelReqCtx(ErrGracePeriodExpired)
		if !waitUntil(idle, deadline, nil) {
			active, _ = s.lim.counts()
			log.Warn("graceful: requests ignored cancellation; abandoning them", "in_flight", active)
		}
	}

	// Phase 4: close the server. In-flight requests are done; Shutdown lets
	// connections finish writing their last response and closes the rest.
	var errs []error
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	if err := srv.Shutdown(sctx); err != nil {
		if cerr := srv.Close(); cerr != nil {
			errs = append(errs, fmt.Errorf("graceful: close: %w", cerr))
		}
	}
	cancel()
	if served != nil {
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("graceful: serve: %w", err))
		}
	}

	// Phase 5: hooks, each bounded by what is left of the grace period.
	for _, hook := range s.hooksReversed() {
		hctx, cancel := context.WithDeadline(context.Background(), deadline)
		if err := hook(hctx); err != nil {
			errs = append(errs, fmt.Errorf("graceful: shutdown hook: %w", err))
		}
		cancel()
	}
	log.Info("graceful: stopped", "took", time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// waitUntil waits for done to be closed, for the deadline or for abort to be
// closed, and reports whether done was closed.
func waitUntil(done <-chan struct{}, deadline time.Time, abort <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	case <-abort:
		return false
	}
}
