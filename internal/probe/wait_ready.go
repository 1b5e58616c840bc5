package probe

import (
	"context"
	"fmt"
	"time"
)

// Backoff is the polling schedule of WaitReady: it waits Initial between
// checks for the first Steady of the wait (zero: none), then each wait is
// Factor times longer than the one before, never more than Max. The zero
// value means DefaultBackoff.
type Backoff struct {
	Initial time.Duration
	Steady  time.Duration
	Max     time.Duration
	Factor  float64
}

// DefaultBackoff checks every 5 ms for the first 2 s, the time in which most
// apps start listening, so that a cold start is noticed within 5 ms of the
// app listening; then it backs off to 250 ms so that a slow start is not
// hammered. A failed check of a port nobody listens on costs one refused
// loopback connect.
var DefaultBackoff = Backoff{Initial: 5 * time.Millisecond, Steady: 2 * time.Second, Max: 250 * time.Millisecond, Factor: 1.5}

func (b Backoff) orDefault() Backoff {
	if b == (Backoff{}) {
		return DefaultBackoff
	}
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max < b.Initial {
		b.Max = max(DefaultBackoff.Max, b.Initial)
	}
	if b.Factor < 1 {
		b.Factor = DefaultBackoff.Factor
	}
	return b
}

// next is the wait after one of length wait, elapsed into the wait for
// readiness.
func (b Backoff) next(wait, elapsed time.Duration) time.Duration {
	if elapsed < b.Steady {
		return wait
	}
	return min(time.Duration(float64(wait)*b.Factor), b.Max)
}

// Checker is what WaitReady and Monitor poll; *Prober implements it.
type Checker interface {
	Check(ctx context.Context) error
}

var _ Checker = (*Prober)(nil)

// WaitReady checks c until a check passes (nil), ctx ends, or stop is
// closed (nil stop never closes; use it to give up when the app exits). On
// failure it returns the context's error wrapped together with the last
// check's failure, so the caller can say why the app never became ready.
func WaitReady(ctx context.Context, c Checker, b Backoff, stop <-chan struct{}) error {
	b = b.orDefault()
	wait := b.Initial
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		err := c.Check(ctx)
		if err == nil {
			return nil
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("probe: waiting for readiness: %w (last check: %v)", ctx.Err(), err)
		case <-stop:
			return fmt.Errorf("probe: waiting for readiness: %w (last check: %v)", ErrStopped, err)
		case <-timer.C:
		}
		wait = b.next(wait, time.Since(start))
	}
}
