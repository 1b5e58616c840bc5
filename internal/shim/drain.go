package shim

import (
	"context"
	"net/http"
	"syscall"
	"time"

	"github.com/ebb-run/ebb/internal/supervisor"
)

// drain is the termination sequence, started by SIGTERM at time t0 and over
// by t0+Grace at the latest:
//
//  1. readiness answers 503 at once (lame duck: requests are still served
//     for Options.LameDuck, so a router has time to notice);
//  2. new requests get 503 + Connection: close + the drain marker, and
//     keep-alive ends;
//  3. requests in flight (streams and WebSockets included) finish;
//  4. only then the app's process group gets SIGTERM, and the shim waits
//     for the app to exit;
//  5. at t0+Grace whatever still runs is ended: requests get 504, the
//     process group gets SIGKILL.
//
// It returns once the app has exited and every request has been answered.
func (s *shim) drain(app *supervisor.Process, srv *http.Server, endRequests context.CancelCauseFunc) {
	t0 := s.o.Now()
	deadline := time.NewTimer(s.o.Grace)
	defer deadline.Stop()
	since := func() time.Duration { return s.o.Now().Sub(t0).Round(time.Millisecond) }

	s.advance(stateLameDuck)
	s.log.Info("readiness now answers 503")
	if s.o.LameDuck > 0 {
		lame := time.NewTimer(s.o.LameDuck)
		select {
		case <-lame.C:
		case <-deadline.C:
			s.kill(app, endRequests, since)
			return
		case <-app.Done():
			lame.Stop()
			s.appExited(app, endRequests)
			return
		}
	}

	s.advance(stateDraining)
	close(s.drainc)
	srv.SetKeepAlivesEnabled(false)
	s.log.Info("refusing new requests; waiting for requests in flight",
		"in_flight", s.lim.InFlight(), "queued", s.lim.Queued(), "after", since())
	for s.entered.Load() > 0 {
		select {
		case <-s.idle:
		case <-deadline.C:
			s.log.Warn("grace period over with requests in flight", "in_flight", s.entered.Load())
			s.kill(app, endRequests, since)
			return
		case <-app.Done():
			s.appExited(app, endRequests)
			return
		}
	}

	s.advance(stateStopping)
	s.log.Info("no request in flight; sending SIGTERM to the app", "pgid", app.Pid(), "after", since())
	if err := app.SignalGroup(syscall.SIGTERM); err != nil {
		s.log.Warn("SIGTERM", "err", err)
	}
	select {
	case <-app.Done():
		s.log.Info("app exited", "exit_code", app.ExitCode(), "after", since())
	case <-deadline.C:
		s.log.Warn("the app outlived the grace period")
		s.kill(app, endRequests, since)
		return
	}
	// A shell leading the group may exit before the server it started has
	// finished its own shutdown: give the rest of the group the rest of the
	// grace period too.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := make(chan error, 1)
	go func() { gone <- supervisor.WaitGroupGone(ctx, app.Pid()) }()
	select {
	case err := <-gone:
		if err != nil {
			s.log.Warn("watching the app's process group", "err", err)
		}
	case <-deadline.C:
		cancel()
		<-gone
		s.log.Warn("processes of the app's group outlived the grace period")
		s.kill(app, endRequests, since)
		return
	}
	s.advance(stateStopped)
}

// kill ends the grace period: the requests still running get 504 (their
// contexts end with DeadlineExceeded before the app dies, so the proxy
// answers 504 rather than 502), then the process group gets SIGKILL.
func (s *shim) kill(app *supervisor.Process, endRequests context.CancelCauseFunc, since func() time.Duration) {
	endRequests(context.DeadlineExceeded)
	s.log.Warn("grace period over: SIGKILL to the app's process group", "pgid", app.Pid(), "after", since())
	if err := app.Kill(); err != nil {
		s.log.Warn("SIGKILL", "err", err)
	}
	<-app.Done()
	s.advance(stateStopped)
	s.log.Info("app killed", "exit_code", app.ExitCode(), "after", since())
	s.waitAnswered(time.Second)
}

// appExited handles the app exiting on its own: requests it held get 502
// from the proxy, queued ones 502 from the shim, new ones the drain answer.
func (s *shim) appExited(app *supervisor.Process, endRequests context.CancelCauseFunc) {
	wasStarting := s.state() == stateStarting
	s.advance(stateStopped)
	s.log.Warn("the app exited on its own", "exit_code", app.ExitCode(), "in_flight", s.entered.Load())
	if wasStarting {
		s.log.Warn("the app exited before it was ready; it must listen on 127.0.0.1:$PORT (or 0.0.0.0:$PORT), "+
			"not on the port ebb run listens on", "internal_addr", s.appAddr, "listen", s.o.Listen)
	}
	if !s.waitAnswered(time.Second) {
		endRequests(errAppExited)
		s.waitAnswered(time.Second)
	}
}

// waitAnswered waits up to d for every request in the handler to be
// answered, and reports whether they were.
func (s *shim) waitAnswered(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for s.entered.Load() > 0 {
		select {
		case <-s.idle:
		case <-t.C:
			return false
		}
	}
	return true
}

// advance moves the state forward to st (never backward).
func (s *shim) advance(st state) {
	for {
		cur := s.st.Load()
		if state(cur) >= st {
			return
		}
		if s.st.CompareAndSwap(cur, int32(st)) {
			s.log.Info("state", "from", state(cur).String(), "to", st.String())
			s.fast.kick()
			return
		}
	}
}
