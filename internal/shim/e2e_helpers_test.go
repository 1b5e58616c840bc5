package shim_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ebb-run/ebb/internal/supervisor"
	"github.com/ebb-run/ebb/internal/testapps"
)

// Binaries built once for the whole package.
var (
	ebbBin       string
	appServerBin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ebb-shim-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		var err error
		if ebbBin, err = testapps.Build(dir, "cmd/ebb"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if appServerBin, err = testapps.BuildAppServer(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
				return 1
			}
		}
		return code
	}()
	os.Exit(code)
}

// ebbRun is one `ebb run` child process.
type ebbRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string // the shim's listener
	admin  string
	out    *testapps.Output // stdout and stderr
	done   chan struct{}
	exitAt time.Time
	code   int
}

var appPidRE = regexp.MustCompile(`msg="app started".* pid=(\d+)`)

// startEbb runs `ebb run --listen ... --admin ... ARGS` and kills it and the
// app's process group when the test ends.
func startEbb(t *testing.T, args ...string) *ebbRun {
	t.Helper()
	return startEbbIn(t, t.TempDir(), args...)
}

// startEbbWrapped runs ebb under a wrapper command such as
// `unshare --pid --fork`; the wrapper must exec or fork ebb and wait.
func startEbbWrapped(t *testing.T, wrapper []string, args ...string) *ebbRun {
	t.Helper()
	return startEbbCmd(t, t.TempDir(), wrapper, args...)
}

// startEbbIn is startEbb in the working directory dir.
func startEbbIn(t *testing.T, dir string, args ...string) *ebbRun {
	t.Helper()
	return startEbbCmd(t, dir, nil, args...)
}

func startEbbCmd(t *testing.T, dir string, wrapper []string, args ...string) *ebbRun {
	t.Helper()
	port, err := supervisor.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	adminPort, err := supervisor.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	e := &ebbRun{
		t:     t,
		addr:  "127.0.0.1:" + strconv.Itoa(port),
		admin: "127.0.0.1:" + strconv.Itoa(adminPort),
		out:   &testapps.Output{},
		done:  make(chan struct{}),
	}
	full := append([]string{"run", "--listen", e.addr, "--admin", e.admin}, args...)
	argv := append(append(append([]string(nil), wrapper...), ebbBin), full...)
	e.cmd = exec.Command(argv[0], argv[1:]...)
	e.cmd.Dir = dir
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = e.cmd.Wait()
		e.exitAt = time.Now()
		e.code = e.cmd.ProcessState.ExitCode()
		close(e.done)
	}()
	t.Cleanup(func() {
		pgid := e.appPid()
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		if pgid > 0 {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		<-e.done
		if t.Failed() {
			t.Logf("ebb run output:\n%s", e.out.String())
		}
	})
	return e
}

// appPid is the app's pid (= its process group), from ebb's log.
func (e *ebbRun) appPid() int {
	m := appPidRE.FindStringSubmatch(e.out.String())
	if m == nil {
		return 0
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

func (e *ebbRun) url(path string) string { return "http://" + e.addr + path }

// waitReady polls the shim's readiness path until it answers 200.
// waitListening waits until ebb accepts connections on its listener,
// whatever it answers.
func (e *ebbRun) waitListening(within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", e.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-e.done:
			e.t.Fatalf("ebb run exited (code %d) before listening", e.code)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("not listening within %v: %v", within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *ebbRun) waitReady(path string, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(e.url(path))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-e.done:
			e.t.Fatalf("ebb run exited (code %d) before ready", e.code)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("not ready within %v (last: %v)", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *ebbRun) sigterm() time.Time {
	e.t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		e.t.Fatal(err)
	}
	return time.Now()
}

// wait waits for ebb to exit and returns its exit code.
func (e *ebbRun) wait(within time.Duration) int {
	e.t.Helper()
	select {
	case <-e.done:
		return e.code
	case <-time.After(within):
		e.t.Fatalf("ebb run still running after %v", within)
		return -1
	}
}

// waitLog waits until ebb's output contains s.
func (e *ebbRun) waitLog(s string, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(e.out.String(), s) {
		if time.Now().After(deadline) {
			e.t.Fatalf("output never contained %q", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusingAfter is when ebb run started refusing new requests, after the
// signal, as it logs it.
func (e *ebbRun) refusingAfter() time.Duration {
	e.t.Helper()
	d, ok := e.out.Duration(refusingRE)
	if !ok {
		e.t.Fatalf("no refusing line with after=:\n%s", e.out.String())
	}
	return d
}

var refusingRE = regexp.MustCompile(`refusing new requests.* after=(\S+)`)

// assertGroupGone checks that no process of the app's group is left.
func (e *ebbRun) assertGroupGone() {
	e.t.Helper()
	pgid := e.appPid()
	if pgid == 0 {
		e.t.Fatal("app pid not found in the log")
	}
	members, err := supervisor.GroupMembers(pgid)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(members) > 0 {
		e.t.Fatalf("processes of the app's group %d survive ebb: %v", pgid, members)
	}
}

// result is one client request's outcome.
type result struct {
	code   int
	close  bool // the server said Connection: close (Go's client strips the header)
	header http.Header
	body   string
	err    error
	at     time.Time // when the response was complete
}

// client is an HTTP client with its own connections and a bound.
func newClient() *http.Client {
	return &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true},
	}
}

func do(c *http.Client, method, url string) result {
	req, _ := http.NewRequestWithContext(context.Background(), method, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err, at: time.Now()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{code: resp.StatusCode, close: resp.Close, header: resp.Header, body: string(b), err: err, at: time.Now()}
}

// goDo starts a request and returns a channel with its result.
func goDo(c *http.Client, url string) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- do(c, "GET", url) }()
	return ch
}

// metric reads one sample from the admin /metrics, e.g.
// `ebb_run_requests_in_flight`.
func (e *ebbRun) metric(name string) (float64, bool) {
	resp, err := http.Get("http://" + e.admin + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[len(name):]), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// waitMetric waits until metric name reaches at least v.
func (e *ebbRun) waitMetric(name string, v float64, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got, ok := e.metric(name); ok && got >= v {
			return
		}
		if time.Now().After(deadline) {
			got, _ := e.metric(name)
			e.t.Fatalf("metric %s = %v, want >= %v within %v", name, got, v, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
