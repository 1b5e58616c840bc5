package probe

import (
	"context"
	"fmt"
	"time"
)

// Backoff is the polling schedule of WaitReady: the first wait is Initial,
// each next one Factor times longer, never more than Max. The zero value
// means DefaultBackoff.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Factor  float64
}

// DefaultBackoff starts at 5 ms, so a cold start is noticed within a few
// milliseconds of the app listening, and settles at 250 ms so that a slow
// start is not hammered.
var DefaultBackoff = Backoff{Initial: 5 * time.Millisecond, Max: 250 * time.Millisecond, Factor: 1.5}

func (b Backoff) orDefault() Backoff {
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
		wait = min(time.Duration(float64(wait)*b.Factor), b.Max)
	}
}
