package platform

import (
	"context"
	"time"
)

// Driver starts replicas. The embedded default is LocalDriver (processes on
// this machine); other drivers (Kubernetes) implement the same interface.
type Driver interface {
	// Start launches one replica described by spec and returns once it is
	// running (not necessarily ready). ctx bounds the start only; the
	// replica outlives it and is stopped through its Instance.
	Start(ctx context.Context, spec ReplicaSpec) (Instance, error)
}

// ReplicaSpec describes one replica to start.
type ReplicaSpec struct {
	// App and ID name the replica, for logs ("hello", "hello-r3-2").
	App, ID string
	// Dir is the working directory.
	Dir string
	// Argv is the command, before port rewriting.
	Argv []string
	// Port is the port the config names (runtime.custom.port); a driver
	// that assigns its own port rewrites it in Argv.
	Port int
	// Env is added to the driver's environment (KEY=VALUE).
	Env []string
	// GracePeriod is response_grace_period, passed as EBB_GRACE_PERIOD.
	GracePeriod time.Duration
	// Output receives each line the replica writes; stream is "stdout" or
	// "stderr". It is called from the driver's goroutines and must not block
	// for long. Nil discards output.
	Output func(stream, line string)
}

// Instance is one running replica process (or pod).
type Instance interface {
	// Addr is the host:port the router sends requests to.
	Addr() string
	// PID is the process id (0 when not applicable).
	PID() int
	// Terminate asks the replica to stop (SIGTERM to its process group).
	Terminate() error
	// Kill stops the replica at once (SIGKILL to its process group). It
	// is safe to call after the replica exited, and kills whatever is left
	// of its group.
	Kill() error
	// Done is closed once the replica's main process has exited.
	Done() <-chan struct{}
	// ExitErr describes how the process exited; valid after Done.
	ExitErr() error
}
