package shim

// state is where the shim is in its lifecycle. It only moves forward.
type state int32

const (
	// stateStarting: the app runs but has not passed its readiness check;
	// readiness answers 503 and requests wait.
	stateStarting state = iota
	// stateReady: requests are proxied; readiness is the app's own answer.
	stateReady
	// stateLameDuck: SIGTERM arrived; readiness answers 503 but requests
	// are still served, so that a router has time to stop sending them.
	stateLameDuck
	// stateDraining: new requests get the 503 drain answer while in-flight
	// ones finish.
	stateDraining
	// stateStopping: no request is left (or the grace period is over); the
	// app has been sent SIGTERM and is expected to exit.
	stateStopping
	// stateStopped: the app has exited.
	stateStopped
	numStates
)

var stateNames = [numStates]string{"starting", "ready", "lame_duck", "draining", "stopping", "stopped"}

func (s state) String() string {
	if s < 0 || s >= numStates {
		return "unknown"
	}
	return stateNames[s]
}
