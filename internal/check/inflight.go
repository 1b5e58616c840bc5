package check

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// inFlight holds requests in flight across the SIGTERM: n slow requests, or
// n clients sending the normal request back to back until SIGTERM.
type inFlight struct {
	slow    bool
	req     request
	n       int
	timeout time.Duration // bounds each request; longer than the grace period

	stop     atomic.Bool // set at SIGTERM: clients send no more
	mu       sync.Mutex
	attempts []attempt
	wg       sync.WaitGroup
}

// start sends the requests and returns once each has been written (slow) or
// each client has had at least one answer (clients), or when ctx ends.
// Clients start stagger/n apart, so that they are not all between two
// requests at the same moment (stagger is about one request's duration).
func (f *inFlight) start(ctx context.Context, stagger time.Duration) error {
	var written sync.WaitGroup
	written.Add(f.n)
	reqCtx := context.WithoutCancel(ctx)
	for i := range f.n {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			var once sync.Once
			signalled := func() { once.Do(written.Done) }
			defer signalled()
			if !f.slow && i > 0 {
				if sleep(ctx, stagger*time.Duration(i)/time.Duration(f.n)) != nil {
					return
				}
			}
			for {
				var onWrote func()
				if f.slow {
					onWrote = signalled
				}
				a := do(reqCtx, f.req, f.timeout, onWrote)
				f.mu.Lock()
				f.attempts = append(f.attempts, a)
				f.mu.Unlock()
				signalled()
				if f.slow || f.stop.Load() || a.outcome != Served {
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { written.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("check: starting in-flight requests: %w", ctx.Err())
	}
}

// sigterm marks the moment of the SIGTERM: clients stop sending.
func (f *inFlight) sigterm() { f.stop.Store(true) }

// wait waits for every request to end (each is bounded by timeout).
func (f *inFlight) wait() { f.wg.Wait() }

// results returns the attempts in the order they were started.
func (f *inFlight) results() []attempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]attempt(nil), f.attempts...)
	sortAttempts(out)
	return out
}

func sortAttempts(as []attempt) {
	sort.SliceStable(as, func(i, j int) bool { return as[i].start.Before(as[j].start) })
}
