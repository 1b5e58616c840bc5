package shim

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/ebb-run/ebb/internal/probe"
)

// notReadyReport is how often the shim says why the app is not ready yet.
const notReadyReport = 10 * time.Second

// awaitAppReady polls the app until it is ready, then opens the gates.
// While it waits it logs, every notReadyReport, the last check's failure
// (a readiness path answering 404 is a typo to fix, not a slow start).
func (s *shim) awaitAppReady(ctx context.Context, startedAt time.Time) {
	p := &probe.Prober{Addr: s.appAddr, Path: s.o.ReadyPath, Timeout: time.Second}
	defer p.Close()
	c := &recordingChecker{c: p}

	quit := make(chan struct{})
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		tick := time.NewTicker(notReadyReport)
		defer tick.Stop()
		var initTimeout <-chan time.Time
		if s.o.InitTimeout > 0 {
			t := time.NewTimer(s.o.InitTimeout)
			defer t.Stop()
			initTimeout = t.C
		}
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				s.log.Info("waiting for the app to become ready", "after", s.o.Now().Sub(startedAt).Round(time.Second),
					"check", checkName(s.o.ReadyPath), "last_result", c.last())
			case <-initTimeout:
				s.log.Warn("the app is not ready within the initialization timeout; requests waiting for it get 503",
					"timeout", s.o.InitTimeout, "last_result", c.last())
				s.fast.kick() // the loops answer the requests they hold (this timer starts after initDeadline is set)
			}
		}
	}()
	err := probe.WaitReady(ctx, c, probe.Backoff{}, s.appDone)
	close(quit)
	<-reported
	if err != nil {
		return
	}
	took := s.o.Now().Sub(startedAt)
	s.coldStart.Store(int64(took))
	if s.st.CompareAndSwap(int32(stateStarting), int32(stateReady)) {
		s.log.Info("app ready", "after", took.Round(time.Millisecond), "check", checkName(s.o.ReadyPath))
	}
	close(s.readyc)
	s.fast.kick()
}

func checkName(path string) string {
	if path == "" {
		return "tcp"
	}
	return "GET " + path
}

// recordingChecker remembers the outcome of the last check, for reports.
type recordingChecker struct {
	c    probe.Checker
	err  atomic.Pointer[error]
	seen atomic.Bool
}

func (r *recordingChecker) Check(ctx context.Context) error {
	err := r.c.Check(ctx)
	r.err.Store(&err)
	r.seen.Store(true)
	return err
}

func (r *recordingChecker) last() string {
	if !r.seen.Load() {
		return "no check yet"
	}
	if err := *r.err.Load(); err != nil {
		return err.Error()
	}
	return "passed"
}
