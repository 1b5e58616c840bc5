package shim_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReapsZombiesAsPID1 runs ebb run as PID 1 of a new PID namespace, as in
// a container, with an app that leaves an orphan behind: the orphan is
// re-parented to ebb, and ebb must reap it when it exits.
func TestReapsZombiesAsPID1(t *testing.T) {
	if out, err := exec.Command("unshare", "--pid", "--fork", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a PID namespace: %v %s", err, out)
	}
	app := "sh -c 'sleep 0.3 &'; exec " + appServerBin
	e := startEbbWrapped(t, []string{"unshare", "--pid", "--fork", "--kill-child"}, "--", "sh", "-c", app)
	e.waitReady("/", 10*time.Second)

	ebbPid := childOf(t, e.cmd.Process.Pid)
	time.Sleep(600 * time.Millisecond) // the orphaned sleep has exited by now
	if z := zombieChildren(ebbPid); len(z) > 0 {
		t.Fatalf("zombies left under ebb (pid %d): %v", ebbPid, z)
	}
	e.waitLog("running as PID 1", time.Second)
	if r := do(newClient(), "GET", e.url("/")); r.code != http.StatusOK {
		t.Errorf("request: %d %v", r.code, r.err)
	}
	// SIGTERM straight to ebb (PID 1 in its namespace): it drains and exits
	// with the app's status, which the reaper routed back.
	if err := syscall.Kill(ebbPid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := e.wait(5 * time.Second); code != 143 {
		t.Errorf("exit code %d, want 143 (the app died of the SIGTERM ebb sent it)", code)
	}
}

// childOf returns the first child of pid.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
		if f := strings.Fields(string(b)); len(f) > 0 {
			c, _ := strconv.Atoi(f[0])
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d has no child", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// zombieChildren lists the children of pid that are zombies.
func zombieChildren(pid int) []int {
	var zs []int
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		p, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + en.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := bytes.Fields(stat[i+1:])
		if len(f) > 2 && string(f[0]) == "Z" && string(f[1]) == strconv.Itoa(pid) {
			zs = append(zs, p)
		}
	}
	return zs
}
