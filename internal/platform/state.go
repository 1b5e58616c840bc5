package platform

import "encoding/json"

// State is where a replica is in its life. The machine only moves forward
// (Starting → Ready → Draining → Stopped), except that a replica that crashes
// or is replaced after failing its health check goes back to Starting when it
// is restarted.
type State int32

// Replica states.
const (
	// Starting: the process is starting or restarting and is not routable.
	Starting State = iota
	// Ready: the readiness check passed; the replica is routable unless its
	// last readiness check failed (see ReplicaStatus.Routable).
	Ready
	// Draining: the termination sequence is running: no new request reaches
	// it, it has been sent SIGTERM and is finishing what it holds.
	Draining
	// Stopped: the process is gone and will not be restarted.
	Stopped
)

var stateNames = [...]string{"starting", "ready", "draining", "stopped"}

// String is the lower-case name used in status output and metrics.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}

// MarshalText encodes the state as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return &json.UnsupportedValueError{Str: string(b)}
}
