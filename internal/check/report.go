package check

// Status is a verdict's grade.
type Status string

// Grades, from best to worst.
const (
	Pass Status = "PASS"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

func (s Status) rank() int {
	switch s {
	case Warn:
		return 1
	case Fail:
		return 2
	}
	return 0
}

// Property names one thing ebb check judges. The values are stable: they
// are the "property" field of the JSON report.
type Property string

// The properties, in report order.
const (
	InFlightComplete    Property = "in_flight_complete"
	ReadinessFlips      Property = "readiness_flips"
	NewRequestsAnswered Property = "new_requests_answered"
	ExitsPromptly       Property = "exits_promptly"
	ExitCode            Property = "exit_code"
	SigtermReaches      Property = "sigterm_reaches_server"
	NoLeftovers         Property = "no_leftover_processes"
)

// Properties lists every property in report order.
var Properties = []Property{
	InFlightComplete, ReadinessFlips, NewRequestsAnswered, ExitsPromptly, ExitCode, SigtermReaches, NoLeftovers,
}

// Title is the property's one-line name for the text report.
func (p Property) Title() string {
	switch p {
	case InFlightComplete:
		return "In-flight requests complete"
	case ReadinessFlips:
		return "Readiness flips to not-ready"
	case NewRequestsAnswered:
		return "New requests get a usable answer"
	case ExitsPromptly:
		return "Exits promptly once idle"
	case ExitCode:
		return "Exit code 0 or 143"
	case SigtermReaches:
		return "SIGTERM reaches the server"
	case NoLeftovers:
		return "No leftover processes"
	}
	return string(p)
}

// Verdict is the grade of one property.
type Verdict struct {
	Property Property `json:"property"`
	Status   Status   `json:"status"`
	// Detail says what was observed.
	Detail string `json:"detail"`
	// Fix says in one line how to fix it; empty on PASS.
	Fix string `json:"fix,omitempty"`
}

// Exit is how the app ended.
type Exit struct {
	// LeaderMS is when the started process (the group leader) exited, in ms
	// since SIGTERM.
	LeaderMS float64 `json:"leader_ms"`
	// Code is the leader's exit status, 128+N when a signal N ended it.
	Code int `json:"code"`
	// AppMS is when the last process of the group was gone, in ms since
	// SIGTERM.
	AppMS float64 `json:"app_ms"`
	// Killed is true when the group had to be killed with SIGKILL at the
	// grace deadline.
	Killed bool `json:"killed"`
	// Leftovers are the processes of the group still running after the
	// leader exited.
	Leftovers []Proc `json:"leftovers"`
}

// Report is the outcome of a check. Its JSON form is stable (see
// docs/check.md).
type Report struct {
	// Command is the command that was run, after $PORT expansion.
	Command []string `json:"command"`
	// Port is the port the app listened on (127.0.0.1).
	Port int `json:"port"`
	// GraceMS is the grace period tested against, in ms.
	GraceMS int64 `json:"grace_ms"`
	// ReadyPath is the readiness endpoint; empty for a TCP check.
	ReadyPath string `json:"ready_path"`
	// Leader is the process that was started and got SIGTERM.
	Leader Proc `json:"leader"`
	// Server lists the processes holding the listening socket when the app
	// was ready.
	Server []Proc `json:"server"`
	// Exit is how the app ended.
	Exit Exit `json:"exit"`
	// Timeline is every event observed, in time order.
	Timeline []Event `json:"timeline"`
	// Verdicts has one entry per property, in the order of Properties.
	Verdicts []Verdict `json:"verdicts"`
	// OK is true when no verdict is FAIL (ebb check exits 0).
	OK bool `json:"ok"`
	// Output is the last lines of the app's stdout and stderr.
	Output []string `json:"output"`
}

// Verdict returns the verdict on p, and false if there is none.
func (r *Report) Verdict(p Property) (Verdict, bool) {
	for _, v := range r.Verdicts {
		if v.Property == p {
			return v, true
		}
	}
	return Verdict{}, false
}

// Worst is the worst status among the verdicts.
func (r *Report) Worst() Status {
	w := Pass
	for _, v := range r.Verdicts {
		if v.Status.rank() > w.rank() {
			w = v.Status
		}
	}
	return w
}
