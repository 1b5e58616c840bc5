package graceful

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

// EnvGracePeriod names the environment variable through which the platform
// tells the app its grace period, in seconds ("30", "2.5"). ebb sets it to
// the app's response_grace_period.
const EnvGracePeriod = "EBB_GRACE_PERIOD"

// DefaultGracePeriod is the grace period when neither [Options.GracePeriod]
// nor [EnvGracePeriod] sets one. It matches the platform's default
// response_grace_period.
const DefaultGracePeriod = 30 * time.Second

// DefaultReadyPath is the readiness path [Server.Middleware] answers when
// [Options.ReadyPath] is empty.
const DefaultReadyPath = "/ready"

// Options configure a [Server]. The zero value is ready to use: no
// concurrency limit, no lame-duck period, the platform's grace period and
// readiness at "/ready".
type Options struct {
	// MaxConcurrency caps how many requests run at once. Zero means no cap.
	MaxConcurrency int

	// QueueSize is how many requests may wait, first in first out, for one
	// of the MaxConcurrency slots. When it is full a request is answered
	// 503 with Retry-After and DrainHeader at once. Zero means no waiting:
	// a request over the cap is refused at once. Ignored without a cap.
	QueueSize int

	// LameDuck is how long the server keeps serving new requests normally
	// after the stop signal (while readiness already answers 503), for load
	// balancers that learn of the stop late. Zero means none: new requests
	// are refused with the drain 503 from the moment of the signal. It is
	// cut short by the grace period.
	LameDuck time.Duration

	// GracePeriod bounds the whole shutdown, from the signal to the return
	// of Serve. Zero means the value of EBB_GRACE_PERIOD (seconds) when it is
	// set and valid, otherwise DefaultGracePeriod.
	GracePeriod time.Duration

	// CleanupReserve is the part of the grace period kept for closing the
	// server and running the OnShutdown hooks: requests still running at
	// GracePeriod − CleanupReserve after the signal have their contexts
	// cancelled. Zero means a tenth of the grace period, at most one
	// second. Negative means no reserve: requests are cancelled when the
	// grace period ends.
	CleanupReserve time.Duration

	// RetryAfter is the delay advertised in the Retry-After header of 503
	// answers, rounded up to whole seconds. Zero means one second.
	RetryAfter time.Duration

	// ReadyPath is the path of the readiness endpoint that Middleware
	// answers itself (GET and HEAD), before counting, queueing or refusing
	// anything: probes are never queued behind a full concurrency cap and
	// never counted as in flight. Empty means DefaultReadyPath; "-" means
	// Middleware answers no readiness path (mount ReadyHandler yourself).
	ReadyPath string

	// ManualStart, when true, keeps readiness at 503 ("starting") until the
	// app calls Server.Started, for apps that warm up after they begin
	// listening. When false Serve declares the app started as soon as it
	// is listening.
	ManualStart bool

	// Exempt, when set, selects requests that bypass Middleware: they are
	// not counted, not limited, not refused while draining, and not waited
	// for. Use it for cheap introspection endpoints such as metrics.
	Exempt func(*http.Request) bool

	// Signals are the signals that start the drain. Nil means SIGTERM and
	// SIGINT; an empty, non-nil slice means none (only the cancellation of
	// Serve's context starts the drain).
	Signals []os.Signal

	// Logger receives the shutdown log. Nil means slog.Default().
	Logger *slog.Logger
}

// settings are Options with every default resolved.
type settings struct {
	maxConcurrency int
	queueSize      int
	lameDuck       time.Duration
	grace          time.Duration
	reserve        time.Duration
	retryAfter     string // header value, whole seconds
	readyPath      string // "" = none
	manualStart    bool
	exempt         func(*http.Request) bool
	signals        []os.Signal
	log            *slog.Logger
}

// resolve fills in defaults. getenv reads the environment. It panics on
// negative limits, which are programming errors.
func (o Options) resolve(getenv func(string) string) settings {
	if o.MaxConcurrency < 0 || o.QueueSize < 0 || o.LameDuck < 0 || o.GracePeriod < 0 || o.RetryAfter < 0 {
		panic(fmt.Sprintf("graceful.New: negative option in %+v", o))
	}
	s := settings{
		maxConcurrency: o.MaxConcurrency,
		queueSize:      o.QueueSize,
		lameDuck:       o.LameDuck,
		grace:          o.GracePeriod,
		manualStart:    o.ManualStart,
		exempt:         o.Exempt,
		signals:        o.Signals,
		log:            o.Logger,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxConcurrency == 0 {
		s.queueSize = 0
	}
	if s.grace == 0 {
		g, err := gracePeriodFromEnv(getenv)
		if err != nil {
			s.log.Warn("graceful: ignoring invalid grace period", "error", err, "default", DefaultGracePeriod)
		}
		s.grace = g
	}
	switch {
	case o.CleanupReserve < 0:
		s.reserve = 0
	case o.CleanupReserve == 0:
		s.reserve = min(s.grace/10, time.Second)
	default:
		s.reserve = min(o.CleanupReserve, s.grace)
	}
	retry := o.RetryAfter
	if retry == 0 {
		retry = time.Second
	}
	s.retryAfter = strconv.Itoa(int(math.Ceil(retry.Seconds())))
	switch o.ReadyPath {
	case "":
		s.readyPath = DefaultReadyPath
	case "-":
		s.readyPath = ""
	default:
		s.readyPath = o.ReadyPath
	}
	if s.signals == nil {
		s.signals = []os.Signal{syscall.SIGTERM, os.Interrupt}
	}
	return s
}

// gracePeriodFromEnv reads EnvGracePeriod. It returns DefaultGracePeriod
// when the variable is unset, and DefaultGracePeriod with an error when it
// is not a positive number of seconds.
func gracePeriodFromEnv(getenv func(string) string) (time.Duration, error) {
	v := getenv(EnvGracePeriod)
	if v == "" {
		return DefaultGracePeriod, nil
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || !(secs > 0) || secs > math.MaxInt64/float64(time.Second) { // !(>0) also rejects NaN
		return DefaultGracePeriod, fmt.Errorf("graceful: %s=%q: want a positive number of seconds, such as 30 or 2.5", EnvGracePeriod, v)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
