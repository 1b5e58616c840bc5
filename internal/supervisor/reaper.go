package supervisor

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// Reaper collects the exit status of every child of this process, including
// orphans re-parented to it, so that none stays a zombie. It is what a
// process running as PID 1 in a container (or as a child subreaper) needs.
//
// A Reaper waits with wait4(-1), which would steal the exit status from any
// other wait in this process; so while it runs, every child must be started
// through Start with Options.Reaper set to it. The statuses of those
// children are routed back to their Process; other children are reaped and
// counted. Run at most one Reaper per process.
type Reaper struct {
	mu    sync.Mutex
	procs map[int]*Process // guarded by mu; children awaiting their status

	orphans atomic.Int64
}

// NewReaper returns a Reaper; start it with Run.
func NewReaper() *Reaper { return &Reaper{procs: make(map[int]*Process)} }

// ShouldReap reports whether this process must reap orphans: when it runs as
// PID 1, nobody else will.
func ShouldReap() bool { return os.Getpid() == 1 }

// Orphans is the number of children reaped that were not started through
// this Reaper.
func (r *Reaper) Orphans() int64 { return r.orphans.Load() }

// start starts p's command with mu held, so that the child cannot be reaped
// before its status has somewhere to go.
func (r *Reaper) start(p *Process) error {
	p.status = make(chan syscall.WaitStatus, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := p.cmd.Start(); err != nil {
		return err
	}
	r.procs[p.cmd.Process.Pid] = p
	return nil
}

// Run reaps children whenever SIGCHLD arrives until ctx ends, then once more.
// Stop it only after every process started through it has exited. It
// returns nil.
func (r *Reaper) Run(ctx context.Context) error {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGCHLD)
	defer signal.Stop(sigc)
	r.reap()
	for {
		select {
		case <-ctx.Done():
			r.reap()
			return nil
		case <-sigc:
			r.reap()
		}
	}
}

// reap collects every child that has exited.
func (r *Reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children; 0: none has exited
		}
		if p, ok := r.procs[pid]; ok {
			delete(r.procs, pid)
			p.status <- ws
			continue
		}
		r.orphans.Add(1)
	}
}
