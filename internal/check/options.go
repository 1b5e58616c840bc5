package check

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Options describes the app to check and how. Argv and Grace are required;
// every other zero value has the meaning documented on its field.
type Options struct {
	// Argv is the app's command. "$PORT" is replaced by the port.
	Argv []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is added to the inherited environment. PORT and EBB_GRACE_PERIOD
	// are always set.
	Env []string
	// ConfiguredPort is the port the config names; when the command names
	// it literally (--port 8000) it is rewritten to the tested port. Zero
	// disables the rewrite.
	ConfiguredPort int
	// Port is the port the app listens on. Zero means a free one.
	Port int

	// Method, Path and Data are the normal request, sent as the baseline and
	// as the new requests during the drain. Zero means GET / with no body.
	Method, Path, Data string
	// SlowPath, when set, is requested with GET InFlight times and held in
	// flight across the SIGTERM (e.g. "/slow?seconds=2"). Empty means the
	// normal request is sent by InFlight concurrent clients instead.
	SlowPath string
	// InFlight is how many slow requests (or concurrent clients) there are.
	// Zero means 3 slow requests, or 8 clients.
	InFlight int
	// Grace is the grace period: SIGKILL follows SIGTERM after it. Required.
	Grace time.Duration
	// ReadyPath is the readiness endpoint; empty means a TCP check.
	ReadyPath string
	// StartupTimeout bounds how long the app may take to become ready.
	// Zero means 60 seconds.
	StartupTimeout time.Duration
	// Output, when not nil, receives the app's stdout and stderr as they
	// come. The last lines are always kept for the report.
	Output io.Writer

	// Interval is the time between observations. Zero means 15 ms.
	Interval time.Duration
}

// Defaults used for zero Options fields.
const (
	DefaultInFlightSlow    = 3
	DefaultInFlightClients = 8
	DefaultStartupTimeout  = 60 * time.Second
	DefaultInterval        = 15 * time.Millisecond
	// After fineFor, the observers slow down to coarseInterval, so that a
	// long grace period does not pile up thousands of connections.
	fineFor        = 10 * time.Second
	coarseInterval = 100 * time.Millisecond
	// PromptReadiness is how soon after SIGTERM readiness must answer
	// not-ready to PASS.
	PromptReadiness = time.Second
)

// withDefaults checks o and fills in its zero fields.
func (o Options) withDefaults() (Options, error) {
	if len(o.Argv) == 0 || o.Argv[0] == "" {
		return o, errors.New("check: no command to run: give one after -- or set entrypoint in cerebrium.toml")
	}
	if o.Grace <= 0 {
		return o, fmt.Errorf("check: grace period %v: want more than 0", o.Grace)
	}
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	o.Method = strings.ToUpper(o.Method)
	if o.Path == "" {
		o.Path = "/"
	}
	for name, p := range map[string]string{"path": o.Path, "slow path": o.SlowPath, "ready path": o.ReadyPath} {
		if p != "" && !strings.HasPrefix(p, "/") {
			return o, fmt.Errorf("check: %s %q: want a path starting with /", name, p)
		}
	}
	if o.InFlight < 0 {
		return o, fmt.Errorf("check: in-flight %d: want 0 or more", o.InFlight)
	}
	if o.InFlight == 0 {
		o.InFlight = DefaultInFlightClients
		if o.SlowPath != "" {
			o.InFlight = DefaultInFlightSlow
		}
	}
	if o.StartupTimeout <= 0 {
		o.StartupTimeout = DefaultStartupTimeout
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	return o, nil
}
