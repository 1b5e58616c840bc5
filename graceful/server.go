package graceful

import (
	"context"
	"os"
	"slices"
	"sync"
	"sync/atomic"
)

// Server tracks the requests of one HTTP server and drains them on stop. Create
// it with New, wrap the app's handler with Middleware (Serve does this
// itself) and run it with Serve or ListenAndServe.
//
// A Server serves one http.Server once. Its methods are safe for concurrent
// use. A Server must not be copied.
type Server struct {
	opts settings
	lim  *limiter

	started   atomic.Bool
	drainOnce sync.Once
	draining  chan struct{} // closed when the drain begins
	serving   atomic.Bool   // Serve was called

	// reqCtx is the parent of every tracked request's cancellation: it is
	// cancelled, with cause ErrGracePeriodExpired, at the deadline.
	reqCtx       context.Context
	cancelReqCtx context.CancelCauseFunc

	hooksMu sync.Mutex
	hooks   []func(context.Context) error
}

// New returns a Server configured by opts. It reads EBB_GRACE_PERIOD when
// opts.GracePeriod is zero. It panics if an option is negative (other than
// CleanupReserve), which is a programming error.
func New(opts Options) *Server {
	s := &Server{
		opts:     opts.resolve(os.Getenv),
		draining: make(chan struct{}),
	}
	s.lim = newLimiter(s.opts.maxConcurrency, s.opts.queueSize)
	s.reqCtx, s.cancelReqCtx = context.WithCancelCause(context.Background())
	return s
}

// Started declares the app started: from now on the readiness endpoint
// answers 200 until the drain begins. Serve calls it once listening unless
// Options.ManualStart is set. Calling it more than once is harmless; it
// never undoes a drain.
func (s *Server) Started() { s.started.Store(true) }

// OnShutdown registers a hook that runs after the server has closed, with a
// context that ends when the grace period does. Hooks run one after another
// in reverse order of registration (like deferred calls); their errors are
// joined into the error Serve returns. Register hooks before the drain
// begins; a hook registered later may not run.
func (s *Server) OnShutdown(hook func(ctx context.Context) error) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.hooks = append(s.hooks, hook)
}

// Draining returns a channel that is closed when the drain begins. Handlers
// of open-ended work (an endless event stream, a long poll) can select on it
// to end early and let the app stop sooner.
func (s *Server) Draining() <-chan struct{} { return s.draining }

// Active returns the number of requests being processed now: admitted by
// Middleware and not yet returned. Queued, refused, exempt and readiness
// requests are not included.
func (s *Server) Active() int {
	a, _ := s.lim.counts()
	return a
}

// Queued returns the number of requests waiting for a concurrency slot.
func (s *Server) Queued() int {
	_, q := s.lim.counts()
	return q
}

// isDraining reports whether the drain has begun.
func (s *Server) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// beginDrain flips readiness to 503. It is idempotent.
func (s *Server) beginDrain() {
	s.drainOnce.Do(func() { close(s.draining) })
}

// hooksReversed returns the registered hooks, last registered first.
func (s *Server) hooksReversed() []func(context.Context) error {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	h := slices.Clone(s.hooks)
	slices.Reverse(h)
	return h
}
