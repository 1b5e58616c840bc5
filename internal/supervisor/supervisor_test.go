package supervisor

import (
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-run/ebb/internal/testapps"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start starts o and makes sure its whole group is killed when the test
// ends.
func start(t *testing.T, o Options) *Process {
	t.Helper()
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Kill()
		select {
		case <-p.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("process %d not done 5s after SIGKILL", p.Pid())
		}
	})
	return p
}

func waitDone(t *testing.T, p *Process, within time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(within):
		t.Fatalf("process %d still running after %v", p.Pid(), within)
	}
}

func TestExitCodeAndOutput(t *testing.T) {
	var out testapps.Output
	p := start(t, Options{
		Argv:   []string{"sh", "-c", `echo "port=$PORT"; printf 'no newline'; echo oops >&2; exit 3`},
		Env:    []string{"PORT=4321"},
		Stdout: &LineWriter{W: &out, Prefix: "[app] "},
		Stderr: &LineWriter{W: &out, Prefix: "[err] "},
	})
	if p.ExitCode() != -1 && !p.Exited() {
		t.Errorf("ExitCode before exit = %d, want -1", p.ExitCode())
	}
	waitDone(t, p, 5*time.Second)
	if got := p.ExitCode(); got != 3 {
		t.Errorf("ExitCode = %d, want 3", got)
	}
	if err := p.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
	got := out.String()
	for _, want := range []string{"[app] port=4321\n", "[err] oops\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
}

func TestStartError(t *testing.T) {
	if _, err := Start(Options{Argv: []string{"/nonexistent/app"}}); err == nil {
		t.Fatal("Start of a missing binary succeeded")
	}
	if _, err := Start(Options{}); err == nil {
		t.Fatal("Start with empty argv succeeded")
	}
}

// TestSignalGroupReachesShellChild shows why the group is signalled: sh -c
// with two commands does not exec, and would not pass SIGTERM on.
func TestSignalGroupReachesShellChild(t *testing.T) {
	p := start(t, Options{Argv: []string{"sh", "-c", "sleep 30; echo never"}})
	time.Sleep(50 * time.Millisecond)
	if err := p.SignalGroup(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitDone(t, p, 5*time.Second)
	if got := p.ExitCode(); got != 128+int(syscall.SIGTERM) {
		t.Errorf("ExitCode = %d, want 143", got)
	}
	assertGroupGone(t, p.Pid())
}

func TestKillIgnoresTrap(t *testing.T) {
	var out testapps.Output
	p := start(t, Options{Argv: []string{"sh", "-c", `trap "" TERM; echo ready; sleep 30 & wait; sleep 30`}, Stdout: &out})
	waitOutput(t, &out, "ready") // the trap is set
	_ = p.SignalGroup(syscall.SIGTERM)
	select {
	case <-p.Done():
		t.Fatal("process ignoring SIGTERM exited on it")
	case <-time.After(100 * time.Millisecond):
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, p, 5*time.Second)
	if got := p.ExitCode(); got != 137 {
		t.Errorf("ExitCode = %d, want 137", got)
	}
	assertGroupGone(t, p.Pid())
	if err := p.Kill(); err != nil {
		t.Errorf("Kill of a gone group: %v", err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("Signal after exit: %v", err)
	}
}

// TestBackgroundChildHoldsOutput checks that Done does not wait for a
// grandchild that keeps the output pipe open beyond WaitDelay.
func TestBackgroundChildHoldsOutput(t *testing.T) {
	var out testapps.Output
	p := start(t, Options{
		Argv:      []string{"sh", "-c", "sleep 30 & echo started"},
		Stdout:    &out,
		WaitDelay: 100 * time.Millisecond,
	})
	waitDone(t, p, 3*time.Second)
	if p.ExitCode() != 0 {
		t.Errorf("ExitCode = %d, want 0", p.ExitCode())
	}
	if members, _ := GroupMembers(p.Pid()); len(members) != 1 {
		t.Errorf("group members = %v, want the background sleep", members)
	}
	_ = p.Kill()
	assertGroupGone(t, p.Pid())
}

func TestForwardSignals(t *testing.T) {
	var out testapps.Output
	p := start(t, Options{
		Argv:   []string{"sh", "-c", `trap 'echo got-usr1; exit 0' USR1; echo ready; while :; do sleep 0.02; done`},
		Stdout: &out,
	})
	var forwarded []os.Signal
	var mu sync.Mutex
	stop := ForwardSignals(p, func(s os.Signal) { mu.Lock(); forwarded = append(forwarded, s); mu.Unlock() })
	defer stop()
	waitOutput(t, &out, "ready")
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitDone(t, p, 5*time.Second)
	if p.ExitCode() != 0 || !strings.Contains(out.String(), "got-usr1") {
		t.Errorf("exit %d, output %q; want 0 and got-usr1", p.ExitCode(), out.String())
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(forwarded) != 1 || forwarded[0] != syscall.SIGUSR1 {
		t.Errorf("forwarded %v, want [SIGUSR1]", forwarded)
	}
}

// TestFreePort: ports come from below the ephemeral range and outside the
// well-known ranges, can be bound on all interfaces, and are never handed
// out twice in a row, even to callers at once.
func TestFreePort(t *testing.T) {
	low := ephemeralLow()
	const n = 100
	ports := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			p, err := FreePort()
			if err != nil {
				t.Error(err)
				return
			}
			ports <- p
		})
	}
	wg.Wait()
	close(ports)
	seen := map[int]bool{}
	for p := range ports {
		if seen[p] {
			t.Errorf("port %d handed out twice", p)
		}
		seen[p] = true
		if low-portFloor >= 1000 && (p < portFloor || p >= low || isWellKnown(p)) {
			t.Errorf("port %d outside [%d, %d), below the ephemeral range, or well known", p, portFloor, low)
		}
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("port %d cannot be bound: %v", p, err)
			continue
		}
		ln.Close()
	}
	if len(seen) != n {
		t.Errorf("%d ports, want %d", len(seen), n)
	}
}

// waitOutput waits up to 5 s for out to contain s.
func waitOutput(t *testing.T, out *testapps.Output, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("output %q never contained %q", out.String(), s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		members, err := GroupMembers(pgid)
		if err != nil {
			t.Fatal(err)
		}
		if len(members) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has %v", pgid, members)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
