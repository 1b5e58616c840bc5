package supervisor

import (
	"context"
	"syscall"
	"testing"
	"time"
)

const prSetChildSubreaper = 36

// TestReaperRoutesStatusAndReapsOrphans makes the test process a child
// subreaper, so that orphans are re-parented to it as they would be to
// PID 1, and checks that the Reaper both reaps them and routes the exit
// status of its own child back to the Process.
func TestReaperRoutesStatusAndReapsOrphans(t *testing.T) {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Skipf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
	defer syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0)

	r := NewReaper()
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	// The shell leaves a short-lived orphan and exits 7 at once.
	p := start(t, Options{Argv: []string{"sh", "-c", "sleep 0.1 & exit 7"}, Reaper: r})
	waitDone(t, p, 5*time.Second)
	if got := p.ExitCode(); got != 7 {
		t.Fatalf("ExitCode = %d, want 7 (status routed from the reaper)", got)
	}
	deadline := time.Now().Add(3 * time.Second)
	for r.Orphans() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("orphaned sleep was not reaped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ws syscall.WaitStatus
	if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid > 0 {
		t.Fatalf("zombie %d left (err %v)", pid, err)
	}

	// Many quick children: every status must reach its own Process.
	procs := make([]*Process, 20)
	for i := range procs {
		procs[i] = start(t, Options{Argv: []string{"sh", "-c", "exit " + string(rune('0'+i%10))}, Reaper: r})
	}
	for i, p := range procs {
		waitDone(t, p, 5*time.Second)
		if got := p.ExitCode(); got != i%10 {
			t.Errorf("child %d: ExitCode = %d, want %d", i, got, i%10)
		}
	}
}
