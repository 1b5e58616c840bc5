package platform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// LocalDriver runs replicas as processes on this machine, each in its own
// process group, on a free loopback port passed as $PORT. The zero value
// is usable.
type LocalDriver struct {
	// Env is the base environment; nil means os.Environ().
	Env []string
}

var _ Driver = (*LocalDriver)(nil)

// Start starts the replica's process.
func (d *LocalDriver) Start(ctx context.Context, spec ReplicaSpec) (Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	argv := rewritePort(spec.Argv, spec.Port, port)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = spec.Dir
	env := d.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append(append([]string(nil), env...), spec.Env...), "PORT="+strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	p := &localProcess{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan struct{})}
	var lines sync.WaitGroup
	lines.Go(func() { scanLines(stdout, "stdout", spec.Output) })
	lines.Go(func() { scanLines(stderr, "stderr", spec.Output) })
	go func() {
		// Wait only after the pipes are drained, as os/exec requires.
		lines.Wait()
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// localProcess is a replica process started by LocalDriver.
type localProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	err  error // written before done is closed
}

func (p *localProcess) Addr() string          { return p.addr }
func (p *localProcess) PID() int              { return p.cmd.Process.Pid }
func (p *localProcess) Done() <-chan struct{} { return p.done }
func (p *localProcess) ExitErr() error        { return p.err }

// Terminate sends SIGTERM to the process group.
func (p *localProcess) Terminate() error { return p.signal(syscall.SIGTERM) }

// Kill sends SIGKILL to the process group.
func (p *localProcess) Kill() error { return p.signal(syscall.SIGKILL) }

func (p *localProcess) signal(sig syscall.Signal) error {
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal %v to group %d: %w", sig, p.cmd.Process.Pid, err)
	}
	return nil
}

func scanLines(r io.Reader, stream string, out func(stream, line string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if out != nil {
			out(stream, sc.Text())
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// rewritePort expands $PORT and ${PORT} in argv and replaces the
// configured port where it appears as a whole argument or after ':' or '='.
func rewritePort(argv []string, configured, port int) []string {
	ps := strconv.Itoa(port)
	cs := strconv.Itoa(configured)
	out := make([]string, len(argv))
	for i, a := range argv {
		a = strings.ReplaceAll(strings.ReplaceAll(a, "${PORT}", ps), "$PORT", ps)
		if configured > 0 {
			switch {
			case a == cs:
				a = ps
			case strings.HasSuffix(a, ":"+cs):
				a = strings.TrimSuffix(a, cs) + ps
			case strings.HasSuffix(a, "="+cs):
				a = strings.TrimSuffix(a, cs) + ps
			}
		}
		out[i] = a
	}
	return out
}
