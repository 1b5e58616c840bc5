// Package shim is `ebb run`: a process that sits in front of one app, in
// the same container, and gives it correct graceful termination without a
// line of the app changed.
//
// The shim listens on the app's configured port and starts the app on a
// free internal port. It answers the readiness path itself (503 while the
// app starts and from the moment SIGTERM arrives), limits the requests the
// app sees at once to replica_concurrency with a bounded FIFO queue, and on
// SIGTERM drains: it refuses new requests with a retryable 503, waits for
// the ones in flight, and only then passes SIGTERM on to the app, so that
// an app that closes its socket at once never drops a request.
package shim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ebb-run/ebb/internal/limiter"
	"github.com/ebb-run/ebb/internal/proxy"
	"github.com/ebb-run/ebb/internal/supervisor"
)

// Options configure Run. Command, Listen and Concurrency are required; for
// every other field the zero value is documented.
type Options struct {
	// Command is the app's argv. "$PORT"/"${PORT}" are expanded and literal
	// mentions of Port are rewritten to the internal port
	// (supervisor.PrepareCommand).
	Command []string
	// Dir is the app's working directory; "" means the current one.
	Dir string
	// Env is added to the app's environment, after PORT.
	Env []string
	// Stdout and Stderr receive the app's output; nil discards it.
	Stdout, Stderr io.Writer

	// Listen is the address the shim serves on, e.g. "0.0.0.0:8000".
	Listen string
	// Admin is the address of the metrics listener (/metrics); "" disables
	// it.
	Admin string
	// Port is the port the app's configuration names (runtime.custom.port);
	// where the command names it literally it is rewritten. 0: no rewrite.
	Port int
	// AppPort is the internal port for the app; 0 picks a free one.
	AppPort int

	// NoFastPath serves every connection with net/http instead of the
	// event loops (package evloop), for comparison and as a way out.
	NoFastPath bool

	// ReadyPath is readycheck_endpoint: the shim answers it itself, and the
	// app is ready once it answers 200 there. "" means a TCP check on the
	// app's port, and no readiness path on the shim.
	ReadyPath string
	// HealthPath is healthcheck_endpoint, proxied without a concurrency
	// slot. "" means none.
	HealthPath string

	// Concurrency is replica_concurrency: the most requests the app is
	// given at once. Must be at least 1.
	Concurrency int
	// Queue is how many requests may wait for a slot; more get 503. Zero
	// means DefaultQueue(Concurrency); negative means no queue.
	Queue int

	// InitTimeout is deployment_initialization_timeout: how long requests
	// that arrive while the app starts wait for it to become ready before
	// they get 503. Zero means they wait as long as the app takes.
	InitTimeout time.Duration
	// LameDuck is how long after SIGTERM requests are still served while
	// readiness already answers 503, for routers that need time to notice.
	LameDuck time.Duration
	// Grace is response_grace_period: the time from SIGTERM (the end of
	// ctx) by which everything must be over. Requests still running then
	// get 504 and the app's process group gets SIGKILL. Must be positive.
	Grace time.Duration

	// ForwardSignals relays SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2
	// received by this process to the app's process group.
	ForwardSignals bool
	// Reap makes the shim reap every child, orphans included; set it when
	// running as PID 1 (supervisor.ShouldReap).
	Reap bool

	// Logger receives a record of every lifecycle step; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for lifecycle timing; nil means time.Now.
	Now func() time.Time
}

// DefaultQueue is the queue length used when Options.Queue is zero: ten
// requests per concurrency slot, and at least 100.
func DefaultQueue(concurrency int) int { return max(10*concurrency, 100) }

// AppExitError is returned by Run when the app exited with a status other
// than 0; Code is its exit status, or 128+N when signal N killed it.
type AppExitError struct{ Code int }

func (e *AppExitError) Error() string { return "the app exited with status " + strconv.Itoa(e.Code) }

// errAppExited is the cause of request contexts cancelled because the app
// exited on its own.
var errAppExited = errors.New("shim: the app exited")

// shim is the running state shared by the handler and the lifecycle.
type shim struct {
	o       Options
	log     *slog.Logger
	lim     *limiter.Limiter
	px      *proxy.Proxy
	m       *metrics
	appAddr string
	fast    *fastPath // set by serve, before anything calls advance

	readyPath  string // never matches a request when the option is ""
	healthPath string

	st           atomic.Int32
	entered      atomic.Int64 // requests between ServeHTTP's entry and exit (not probes)
	waitingReady atomic.Int64
	coldStart    atomic.Int64 // nanoseconds, 0 until ready

	readyc       chan struct{}   // closed when the app is first ready
	drainc       chan struct{}   // closed when new requests start being refused
	appDone      <-chan struct{} // closed when the app has exited
	idle         chan struct{}   // poked when entered drops to 0 while draining
	initDeadline time.Time
}

func (s *shim) state() state { return state(s.st.Load()) }

// isReady reports whether the app has passed its readiness check.
func (s *shim) isReady() bool {
	select {
	case <-s.readyc:
		return true
	default:
		return false
	}
}

// noPath is a request path no request can have.
const noPath = "\x00"

func (o *Options) check() error {
	switch {
	case len(o.Command) == 0:
		return errors.New("no command to run")
	case o.Listen == "":
		return errors.New("no listen address")
	case o.Concurrency < 1:
		return fmt.Errorf("concurrency %d: must be at least 1", o.Concurrency)
	case o.Grace <= 0:
		return fmt.Errorf("grace period %v: must be positive", o.Grace)
	case o.LameDuck < 0:
		return fmt.Errorf("lame-duck period %v: must not be negative", o.LameDuck)
	case o.ReadyPath != "" && o.ReadyPath[0] != '/':
		return fmt.Errorf("readiness path %q: must start with /", o.ReadyPath)
	case o.HealthPath != "" && o.HealthPath[0] != '/':
		return fmt.Errorf("health path %q: must start with /", o.HealthPath)
	}
	return nil
}

// Run starts the app and serves until the app exits or ctx ends. The end of
// ctx (the caller's SIGTERM) starts the drain sequence; see the package
// documentation and docs/run.md. Run returns once the app and every process
// of its group are gone and the listeners are closed: nil when the app
// exited with status 0, an *AppExitError for another status, or an error
// saying why the shim could not start.
func Run(ctx context.Context, o Options) error {
	if err := o.check(); err != nil {
		return fmt.Errorf("shim: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	queue := o.Queue
	switch {
	case queue == 0:
		queue = DefaultQueue(o.Concurrency)
	case queue < 0:
		queue = 0
	}
	log := o.Logger

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("shim: listen: %w", err)
	}
	defer ln.Close()
	var adminLn net.Listener
	if o.Admin != "" {
		if adminLn, err = net.Listen("tcp", o.Admin); err != nil {
			return fmt.Errorf("shim: admin listen: %w", err)
		}
		defer adminLn.Close()
	}
	port := o.AppPort
	if port == 0 {
		if port, err = supervisor.FreePort(); err != nil {
			return fmt.Errorf("shim: %w", err)
		}
	}
	argv, notes := supervisor.PrepareCommand(o.Command, o.Port, port)
	for _, n := range notes {
		log.Info("rewrote the command for the internal port", "change", n, "port", o.Port, "internal_port", port)
	}

	s := newShim(o, queue, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	defer s.px.Close()

	var reaper *supervisor.Reaper
	if o.Reap {
		reaper = supervisor.NewReaper()
		reapCtx, stopReaping := context.WithCancel(context.Background())
		reaped := make(chan struct{})
		go func() { defer close(reaped); _ = reaper.Run(reapCtx) }()
		defer func() { stopReaping(); <-reaped }()
		log.Info("reaping orphaned processes (running as PID 1)")
	}

	startedAt := o.Now()
	if o.InitTimeout > 0 {
		s.initDeadline = time.Now().Add(o.InitTimeout)
	}
	app, err := supervisor.Start(supervisor.Options{
		Argv:   argv,
		Dir:    o.Dir,
		Env:    append([]string{"PORT=" + strconv.Itoa(port)}, o.Env...),
		Stdout: o.Stdout,
		Stderr: o.Stderr,
		Reaper: reaper,
	})
	if err != nil {
		return fmt.Errorf("shim: %w", err)
	}
	s.appDone = app.Done()
	log.Info("app started", "pid", app.Pid(), "command", argv, "internal_port", port,
		"listen", ln.Addr().String(), "concurrency", o.Concurrency, "queue", queue)
	if o.ForwardSignals {
		stop := supervisor.ForwardSignals(app, func(sig os.Signal) {
			log.Info("forwarding signal to the app", "signal", sig.String(), "pgid", app.Pid())
		})
		defer stop()
	}

	// Every request context derives from base, so that the end of the
	// grace period (cause DeadlineExceeded: 504) or the app's exit can end
	// the requests still running.
	base, endBase := context.WithCancelCause(context.Background())
	defer endBase(nil)
	srvs := s.serve(ln, adminLn, base)
	endRequests := func(cause error) {
		endBase(cause)
		s.fast.end(cause)
	}
	defer srvs.shutdown(time.Second)

	readyCtx, stopReadiness := context.WithCancel(context.Background())
	readinessDone := make(chan struct{})
	go func() {
		defer close(readinessDone)
		s.awaitAppReady(readyCtx, startedAt)
	}()
	defer func() { stopReadiness(); <-readinessDone }()

	select {
	case <-ctx.Done():
		log.Info("SIGTERM: draining", "grace", o.Grace, "lame_duck", o.LameDuck)
		s.drain(app, srvs.main, endRequests)
	case <-app.Done():
		s.appExited(app, endRequests)
	case err := <-srvs.failed:
		log.Error("listener failed; stopping the app", "err", err)
		s.drain(app, srvs.main, endRequests)
	}
	// Whatever happened, nothing of the app's group outlives the shim.
	if err := app.Kill(); err != nil {
		log.Warn("killing the app's process group", "err", err)
	}
	code := app.ExitCode()
	log.Info("exiting", "exit_code", code)
	if code != 0 {
		return &AppExitError{Code: code}
	}
	return nil
}

// newShim builds the shim's request-serving state for an app at appAddr.
func newShim(o Options, queue int, appAddr string) *shim {
	s := &shim{
		o:          o,
		log:        o.Logger,
		lim:        limiter.New(o.Concurrency, queue),
		px:         proxy.New(proxy.Options{RequestID: true, MaxReplayBody: -1}),
		appAddr:    appAddr,
		readyPath:  cmpOr(o.ReadyPath, noPath),
		healthPath: cmpOr(o.HealthPath, noPath),
		readyc:     make(chan struct{}),
		drainc:     make(chan struct{}),
		idle:       make(chan struct{}, 1),
	}
	s.m = newMetrics(s)
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
