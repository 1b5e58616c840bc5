package graceful

import "errors"

// ErrGracePeriodExpired is the cause (see [context.Cause]) with which the
// context of a request is cancelled when the request is still running at the
// end of the grace period.
var ErrGracePeriodExpired = errors.New("graceful: grace period expired")

// errQueueFull is the reason a request is refused when MaxConcurrency
// requests are running and QueueSize more are already waiting.
var errQueueFull = errors.New("graceful: request queue full")

// errDraining is the reason a request is refused once the server has
// stopped accepting new work (after the lame-duck period).
var errDraining = errors.New("graceful: server draining")
