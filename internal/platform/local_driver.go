package platform

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ebb-run/ebb/internal/supervisor"
)

// LocalDriver runs replicas as processes on this machine, each in its own
// process group, on a free loopback port passed as $PORT (with the same
// $PORT expansion and literal-port rewrite of the command as `ebb run`).
// The zero value is usable.
type LocalDriver struct {
	// Env is added to every replica's environment (after ebb's own
	// environment, before the replica's EBB_* and PORT variables).
	Env []string
}

var _ Driver = (*LocalDriver)(nil)

// Start starts the replica's process.
func (d *LocalDriver) Start(ctx context.Context, spec ReplicaSpec) (Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	port, err := supervisor.FreePort()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	argv, notes := supervisor.PrepareCommand(spec.Argv, spec.Port, port)
	for _, n := range notes {
		if spec.Output != nil {
			spec.Output("ebb", "port rewrite: "+n)
		}
	}
	env := append(append(append([]string(nil), d.Env...), spec.Env...), "PORT="+strconv.Itoa(port))
	p, err := supervisor.Start(supervisor.Options{
		Argv:   argv,
		Dir:    spec.Dir,
		Env:    env,
		Stdout: &supervisor.LineWriter{W: lineFunc{"stdout", spec.Output}},
		Stderr: &supervisor.LineWriter{W: lineFunc{"stderr", spec.Output}},
	})
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	return &localProcess{p: p, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, nil
}

// lineFunc receives whole lines from a supervisor.LineWriter.
type lineFunc struct {
	stream string
	out    func(stream, line string)
}

func (f lineFunc) Write(b []byte) (int, error) {
	if f.out != nil {
		f.out(f.stream, string(bytes.TrimRight(b, "\r\n")))
	}
	return len(b), nil
}

// localProcess is a replica process started by LocalDriver.
type localProcess struct {
	p    *supervisor.Process
	addr string

	groupOnce sync.Once
	groupDone chan struct{}
}

// groupPoll is how often GroupDone checks whether the group is empty.
const groupPoll = 10 * time.Millisecond

// GroupDone is closed once the main process has exited and no process of
// its group is left: a wrapper such as `go run` or `sh -c` may exit on
// SIGTERM while the app it started is still finishing its requests.
func (l *localProcess) GroupDone() <-chan struct{} {
	l.groupOnce.Do(func() {
		l.groupDone = make(chan struct{})
		go func() {
			defer close(l.groupDone)
			<-l.p.Done()
			for groupAlive(l.p.Pid()) {
				time.Sleep(groupPoll)
			}
		}()
	})
	return l.groupDone
}

// groupAlive reports whether a live (not zombie) process is in group pgid.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err != nil {
		return false
	}
	members, err := supervisor.GroupMembers(pgid)
	return err != nil || len(members) > 0
}

func (l *localProcess) Addr() string          { return l.addr }
func (l *localProcess) PID() int              { return l.p.Pid() }
func (l *localProcess) Done() <-chan struct{} { return l.p.Done() }

// Terminate sends SIGTERM to the process group.
func (l *localProcess) Terminate() error { return l.p.SignalGroup(syscall.SIGTERM) }

// Kill sends SIGKILL to the process group.
func (l *localProcess) Kill() error { return l.p.Kill() }

// ExitErr describes the exit: nil for status 0.
func (l *localProcess) ExitErr() error {
	if err := l.p.Err(); err != nil {
		return err
	}
	switch c := l.p.ExitCode(); {
	case c == 0:
		return nil
	case c > 128:
		return fmt.Errorf("killed by signal %d (%v)", c-128, syscall.Signal(c-128))
	default:
		return fmt.Errorf("exit status %d", c)
	}
}
