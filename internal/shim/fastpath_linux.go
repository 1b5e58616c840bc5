//go:build linux

package shim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/ebb-run/ebb/graceful"
	"github.com/ebb-run/ebb/internal/evloop"
)

// fastPath is the event-loop server that takes the shim's listener; the
// net/http server gets the connections it hands off.
type fastPath struct {
	srv *evloop.Server
}

// startFastPath starts the event loops on ln. It returns the listener the
// net/http server is to serve (the handed-off connections), or, when the
// loops cannot start, nil and ln itself.
func (s *shim) startFastPath(ln net.Listener, failed func(error)) (*fastPath, net.Listener) {
	tl, ok := ln.(*net.TCPListener)
	if !ok || s.o.NoFastPath {
		return nil, ln
	}
	handed := evloop.NewListener(ln.Addr())
	p := newLoopPolicy(s)
	srv, err := evloop.New(evloop.Options{
		Listener:     tl,
		Upstream:     s.appAddr,
		ReadyPath:    s.o.ReadyPath,
		HealthPath:   s.o.HealthPath,
		Policy:       p,
		Limiter:      s.lim,
		QueueFull:    replyQueueFull,
		ProbeRefused: replyNotAnswering,
		HandOff:      handed.Push,
		ListenFailed: failed,
		Logger:       s.log,
	})
	if err != nil {
		s.log.Warn("event loops unavailable; serving with net/http alone", "err", err)
		return nil, ln
	}
	// The loops hold a duplicate of the socket: close this one, so that
	// Go's poller stops watching it.
	_ = ln.Close()
	return &fastPath{srv: srv}, handed
}

// held is the number of requests the loops hold until the app is ready.
func (f *fastPath) held() int {
	if f == nil {
		return 0
	}
	return f.srv.Held()
}

func (f *fastPath) kick() {
	if f != nil {
		f.srv.Kick()
	}
}

// end answers the requests still waiting or running in the loops, by the
// cause that ended the base context.
func (f *fastPath) end(cause error) {
	if f == nil || cause == nil {
		return
	}
	if errors.Is(cause, context.DeadlineExceeded) {
		f.srv.End(replyTimeout)
	} else {
		f.srv.End(replyExited)
	}
}

// shutdown stops the loops; it returns the number of connections without
// a request it closed.
func (f *fastPath) shutdown(d time.Duration) int {
	if f == nil {
		return 0
	}
	return f.srv.Shutdown(d)
}

// The loops' own answers, the same as the handler's (responses.go).
var (
	drainHeaders      = []string{graceful.DrainHeader + ": 1", "Retry-After: 1"}
	replyDrained      = evloop.NewReply(http.StatusServiceUnavailable, true, msgDraining, drainHeaders...)
	replyTimeout      = evloop.NewReply(http.StatusGatewayTimeout, true, msgTimeout)
	replyExited       = evloop.NewReply(http.StatusBadGateway, false, msgExited)
	replyRefused      = evloop.NewReply(http.StatusServiceUnavailable, false, msgRefused, drainHeaders...)
	replyNotYet       = evloop.NewReply(http.StatusServiceUnavailable, false, msgNotReady, drainHeaders...)
	replyQueueFull    = evloop.NewReply(http.StatusServiceUnavailable, false, msgQueueFull, drainHeaders...)
	replyNotAnswering = evloop.NewReply(http.StatusServiceUnavailable, false, msgNotAnswering)
)

// loopPolicy is the shim's say over the loops' requests: the same
// decisions as ServeHTTP.
type loopPolicy struct {
	s      *shim
	probes [numStates]*evloop.Reply // readiness answers while not ready
}

func newLoopPolicy(s *shim) *loopPolicy {
	p := &loopPolicy{s: s}
	for st := range numStates {
		p.probes[st] = evloop.NewReply(http.StatusServiceUnavailable, false, st.String()+"\n", "Cache-Control: no-store")
	}
	return p
}

func (p *loopPolicy) Admit(stage evloop.Stage) (evloop.Verdict, *evloop.Reply) {
	s := p.s
	if stage == evloop.Arrived {
		s.entered.Add(1) // before the state is read: see ServeHTTP
	}
	st := s.state()
	switch {
	case stage == evloop.Granted:
		// Admitted before any drain; only an app gone stops it now.
		if st == stateStopped {
			return evloop.Answer, replyExited
		}
		return evloop.Forward, nil
	case st == stateStopped && stage == evloop.Recheck:
		return evloop.Answer, replyExited
	case st >= stateDraining:
		return evloop.Answer, replyDrained
	case !s.isReady():
		// Not ready yet (SIGTERM may have come first: the lame duck
		// still waits for the app, as ServeHTTP's awaitReady does).
		if !s.initDeadline.IsZero() && !time.Now().Before(s.initDeadline) {
			return evloop.Answer, replyNotYet
		}
		return evloop.Wait, nil
	}
	return evloop.Forward, nil
}

func (p *loopPolicy) Probe() (evloop.Verdict, *evloop.Reply) {
	if st := p.s.state(); st != stateReady {
		return evloop.Answer, p.probes[st]
	}
	return evloop.Forward, nil
}

func (p *loopPolicy) Refused() *evloop.Reply {
	if p.s.state() == stateStopped {
		return replyExited
	}
	return replyRefused
}

func (p *loopPolicy) KeepAlive() bool { return p.s.state() < stateDraining }

func (p *loopPolicy) Done(code int, elapsed time.Duration) {
	p.s.m.observe(code, elapsed)
	p.s.leave()
}
