package probe

import (
	"context"
	"errors"
	"time"
)

// ErrStopped is returned by WaitReady when its stop channel is closed.
var ErrStopped = errors.New("probe: stopped")

// Monitor checks a Checker periodically and reports when its verdict
// changes. The platform uses it for health checks: a replica whose health
// check fails FailureThreshold times in a row is reported unhealthy.
type Monitor struct {
	// Checker is checked every Interval.
	Checker Checker
	// Interval between the start of one check and the next. Zero means 5 s.
	Interval time.Duration
	// FailureThreshold is how many consecutive failures make the target
	// unhealthy. Zero means 3.
	FailureThreshold int
	// SuccessThreshold is how many consecutive passes make an unhealthy
	// target healthy again. Zero means 1.
	SuccessThreshold int
	// Tick, when set, replaces the interval timer (for tests): a check runs
	// on every value received. It must be closed or ctx ended to stop Run.
	Tick <-chan time.Time
}

// Run checks until ctx ends, calling report(false, err) when the target
// becomes unhealthy and report(true, nil) when it recovers. The target is
// assumed healthy at the start. Run returns ctx's error; report is called
// from Run's goroutine only.
func (m *Monitor) Run(ctx context.Context, report func(healthy bool, err error)) error {
	interval := m.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	failAt := max(m.FailureThreshold, 1)
	if m.FailureThreshold == 0 {
		failAt = 3
	}
	passAt := max(m.SuccessThreshold, 1)
	tick := m.Tick
	if tick == nil {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	healthy := true
	fails, passes := 0, 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-tick:
			if !ok {
				return ctx.Err()
			}
		}
		err := m.Checker.Check(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			fails, passes = fails+1, 0
			if healthy && fails >= failAt {
				healthy = false
				report(false, err)
			}
			continue
		}
		fails, passes = 0, passes+1
		if !healthy && passes >= passAt {
			healthy = true
			report(true, nil)
		}
	}
}
