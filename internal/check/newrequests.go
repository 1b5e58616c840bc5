package check

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// newRequestObserver sends the normal request every interval, each on a new
// connection, as a router that has not stopped routing would.
type newRequestObserver struct {
	req      request
	hang     time.Duration
	interval time.Duration

	mu       sync.Mutex
	attempts []attempt
}

// run sends requests until ctx ends, then waits for those outstanding (each
// bounded by hang).
func (n *newRequestObserver) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(n.interval)
	defer t.Stop()
	slowAt := time.Now().Add(fineFor)
	// Outstanding requests are not cancelled with ctx: their outcome is
	// what is being observed. hang bounds each one.
	reqCtx := context.WithoutCancel(ctx)
	for {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := do(reqCtx, n.req, n.hang, nil)
			n.mu.Lock()
			n.attempts = append(n.attempts, a)
			n.mu.Unlock()
		}()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !slowAt.IsZero() && time.Now().After(slowAt) {
			t.Reset(coarseInterval) // a long grace period: no need for ms any more
			slowAt = time.Time{}
		}
	}
}

// results returns the attempts in the order they were started.
func (n *newRequestObserver) results() []attempt {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := append([]attempt(nil), n.attempts...)
	sortAttempts(out)
	return out
}

// describeRun summarises a run of attempts with the same outcome for the
// timeline, e.g. "503 with Connection: close x37 (until +1002.5 ms)".
func describeRun(first attempt, count int, lastAt float64) string {
	if count == 1 {
		return first.outcome.describe(first.status)
	}
	return fmt.Sprintf("%s x%d (until %+.1f ms)", first.outcome.describe(first.status), count, lastAt)
}
