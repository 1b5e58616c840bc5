// Package supervisor starts and stops an app's processes: each in its own
// process group, with its output captured, signalled as a group, reaped
// without leaving zombies (also when ebb runs as PID 1), and with its command
// line adapted to the port it is given.
package supervisor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Options describes a process to start.
type Options struct {
	// Argv is the command and its arguments. Argv[0] is looked up in PATH
	// when it contains no slash. Required.
	Argv []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is added to this process's own environment; an entry here
	// overrides an inherited variable of the same name (e.g. "PORT=8123").
	Env []string
	// Stdout and Stderr receive the process's output; nil discards it.
	// An *os.File is handed to the process directly; any other writer is
	// fed from a pipe (wrap it in a LineWriter to prefix lines).
	Stdout, Stderr io.Writer
	// WaitDelay bounds how long Done waits, after the process has exited,
	// for its output pipes to close (a background grandchild may hold them
	// open). Zero means one second.
	WaitDelay time.Duration
	// Reaper, when set, collects the process's exit status instead of a
	// wait on the process itself. Use it when this process reaps every
	// child (see Reaper); nil is right otherwise.
	Reaper *Reaper
}

// Process is a started child: the leader of its own process group. Its
// methods are safe for concurrent use.
type Process struct {
	cmd      *exec.Cmd
	pid      int
	status   chan syscall.WaitStatus // from the reaper
	outputs  []*os.File              // parent ends of output pipes
	copiers  sync.WaitGroup
	waitDone time.Duration

	done     chan struct{}
	exitCode int   // valid once done is closed
	waitErr  error // valid once done is closed
}

// Start starts a process as described by o, in a new process group whose id
// is its pid. The process is waited for by a goroutine that ends once it has
// exited and its output is copied; Done is closed then.
func Start(o Options) (*Process, error) {
	if len(o.Argv) == 0 || o.Argv[0] == "" {
		return nil, errors.New("supervisor: start: empty command")
	}
	cmd := exec.Command(o.Argv[0], o.Argv[1:]...)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{cmd: cmd, done: make(chan struct{}), exitCode: -1, waitDone: o.WaitDelay}
	if p.waitDone <= 0 {
		p.waitDone = time.Second
	}
	var childEnds []*os.File
	closeAll := func() {
		for _, f := range childEnds {
			f.Close()
		}
		for _, f := range p.outputs {
			f.Close()
		}
	}
	for _, s := range []struct {
		w   io.Writer
		dst *io.Writer
	}{{o.Stdout, &cmd.Stdout}, {o.Stderr, &cmd.Stderr}} {
		switch w := s.w.(type) {
		case nil:
			// exec.Cmd connects nil to /dev/null.
		case *os.File:
			*s.dst = w
		default:
			r, wf, err := os.Pipe()
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("supervisor: start %s: %w", o.Argv[0], err)
			}
			childEnds = append(childEnds, wf)
			p.outputs = append(p.outputs, r)
			*s.dst = wf
			p.copiers.Add(1)
			go func() {
				defer p.copiers.Done()
				_, _ = io.Copy(w, r)
			}()
		}
	}
	var err error
	if o.Reaper != nil {
		err = o.Reaper.start(p)
	} else {
		err = cmd.Start()
	}
	for _, f := range childEnds {
		f.Close()
	}
	childEnds = nil
	if err != nil {
		closeAll()
		p.copiers.Wait()
		return nil, fmt.Errorf("supervisor: start %s: %w", o.Argv[0], err)
	}
	p.pid = cmd.Process.Pid
	go p.wait(o.Reaper != nil)
	return p, nil
}

// wait collects the exit status, lets the output copiers finish (at most
// waitDone), and closes done.
func (p *Process) wait(reaped bool) {
	var ws syscall.WaitStatus
	if reaped {
		ws = <-p.status
		_ = p.cmd.Process.Release()
	} else {
		err := p.cmd.Wait()
		if st, ok := sysStatus(p.cmd.ProcessState); ok {
			ws = st
		} else {
			p.waitErr = fmt.Errorf("supervisor: wait %d: %w", p.pid, err)
		}
	}
	copied := make(chan struct{})
	go func() { p.copiers.Wait(); close(copied) }()
	t := time.NewTimer(p.waitDone)
	select {
	case <-copied:
	case <-t.C:
		for _, f := range p.outputs {
			f.Close() // unblocks the copiers
		}
		<-copied
	}
	t.Stop()
	for _, f := range p.outputs {
		f.Close()
	}
	p.exitCode = exitCode(ws)
	close(p.done)
}

func sysStatus(ps *os.ProcessState) (syscall.WaitStatus, bool) {
	if ps == nil {
		return 0, false
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ws, ok
}

// exitCode follows the shell: the exit status, or 128+N when killed by
// signal N.
func exitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return -1
}

// Pid is the process id, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Done is closed once the process has exited and its output is copied.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the exit status, 128+N when the process was killed by signal
// N, or -1 while it runs (or when its status could not be collected).
func (p *Process) ExitCode() int {
	select {
	case <-p.done:
		return p.exitCode
	default:
		return -1
	}
}

// Err is non-nil when the exit status could not be collected. Valid once
// Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.waitErr
}

// Exited reports whether Done is closed.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process itself (the group leader) only.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("supervisor: signal %v to %d: %w", sig, p.pid, err)
	}
	return nil
}

// SignalGroup sends sig to every process of the group, so that a shell
// running the app (sh -c "python3 ...") cannot keep the signal from it.
// A group with no process left is not an error.
func (p *Process) SignalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("supervisor: signal %v to group %d: %w", sig, p.pid, err)
	}
	return nil
}

// Kill sends SIGKILL to the whole process group.
func (p *Process) Kill() error { return p.SignalGroup(syscall.SIGKILL) }
