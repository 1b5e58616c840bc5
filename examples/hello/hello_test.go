package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ebb-run/ebb/graceful"
	"github.com/ebb-run/ebb/internal/supervisor"
	"github.com/ebb-run/ebb/internal/testapps"
	"go.uber.org/goleak"
)

// binary is the example built once for the whole test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hello-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = testapps.Build(dir, "examples/hello")
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else if code = m.Run(); code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// app is the example running as a child process on 127.0.0.1.
type app struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed when the process has exited
	exitAt time.Time     // valid once exited is closed
	err    error         // Wait's result, valid once exited is closed
	logs   *testapps.Output
	client *http.Client
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := supervisor.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// startApp runs the example with env added to the environment and waits for
// it to be ready. The process group is killed when the test ends.
func startApp(t *testing.T, env ...string) *app {
	t.Helper()
	port := freePort(t)
	a := &app{
		t:      t,
		url:    "http://127.0.0.1:" + strconv.Itoa(port),
		exited: make(chan struct{}),
		logs:   &testapps.Output{},
		// No keep-alive: each request on a new connection, as a new client's.
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second},
	}
	a.cmd = exec.Command(binary)
	a.cmd.Env = append(os.Environ(), append([]string{"HOST=127.0.0.1", "PORT=" + strconv.Itoa(port)}, env...)...)
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		a.err = a.cmd.Wait()
		a.exitAt = time.Now()
		close(a.exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.exited
		if t.Failed() {
			t.Logf("app output:\n%s", a.logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := a.client.Get(a.url + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return a
			}
		}
		select {
		case <-a.exited:
			t.Fatalf("app exited before it was ready: %v\n%s", a.err, a.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("app not ready within 10s:\n%s", a.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drainTook is how long the app says its drain took, from its log line
// "graceful: stopped" took=…; it fails the test when there is none.
func (a *app) drainTook() time.Duration {
	a.t.Helper()
	d, ok := a.logs.Duration(drainTookRE)
	if !ok {
		a.t.Fatalf("no \"graceful: stopped\" took= line in the app's output:\n%s", a.logs.String())
	}
	return d
}

var drainTookRE = regexp.MustCompile(`"graceful: stopped" took=(\S+)`)

func (a *app) signal(sig syscall.Signal) time.Time {
	a.t.Helper()
	if err := a.cmd.Process.Signal(sig); err != nil {
		a.t.Fatal(err)
	}
	return time.Now()
}

// waitExit waits up to d for the process to exit and fails unless it exited
// with status 0.
func (a *app) waitExit(d time.Duration) time.Time {
	a.t.Helper()
	select {
	case <-a.exited:
	case <-time.After(d):
		a.t.Fatalf("app still running %v later", d)
	}
	if a.err != nil {
		a.t.Fatalf("app exited with %v", a.err)
	}
	return a.exitAt
}

func (a *app) stats() statsBody {
	a.t.Helper()
	resp, err := a.client.Get(a.url + "/stats")
	if err != nil {
		a.t.Fatalf("GET /stats: %v", err)
	}
	defer resp.Body.Close()
	var s statsBody
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		a.t.Fatalf("GET /stats: %v", err)
	}
	return s
}

// waitStats polls /stats until cond holds, for up to 10s.
func (a *app) waitStats(what string, cond func(statsBody) bool) {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s := a.stats(); !cond(s); s = a.stats() {
		if time.Now().After(deadline) {
			a.t.Fatalf("timed out waiting for %s; stats %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// outcome is how a client request ended.
type outcome struct {
	code int
	body string
	err  error
	at   time.Time
}

func (a *app) goDo(method, path string) <-chan outcome {
	c := make(chan outcome, 1)
	go func() {
		req, _ := http.NewRequest(method, a.url+path, nil)
		resp, err := a.client.Do(req)
		if err != nil {
			c <- outcome{err: err, at: time.Now()}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		c <- outcome{code: resp.StatusCode, body: string(b), err: err, at: time.Now()}
	}()
	return c
}

// wsEcho opens a WebSocket, exchanges a message every 200ms and closes it
// normally after hold. It reports the number of echoes and any error.
func (a *app) wsEcho(hold time.Duration) (opened <-chan struct{}, done <-chan outcome) {
	o, d := make(chan struct{}), make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), hold+10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.url, "http")+"/ws", nil)
		close(o)
		if err != nil {
			d <- outcome{err: fmt.Errorf("dial: %w", err), at: time.Now()}
			return
		}
		defer c.CloseNow()
		end := time.Now().Add(hold)
		n := 0
		for time.Now().Before(end) {
			msg := fmt.Sprintf("ping %d", n)
			if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				d <- outcome{err: fmt.Errorf("write %d: %w", n, err), at: time.Now()}
				return
			}
			_, got, err := c.Read(ctx)
			if err != nil || string(got) != msg {
				d <- outcome{err: fmt.Errorf("echo %d: %q %v", n, got, err), at: time.Now()}
				return
			}
			n++
			time.Sleep(200 * time.Millisecond)
		}
		err = c.Close(websocket.StatusNormalClosure, "bye")
		d <- outcome{code: n, err: err, at: time.Now()}
	}()
	return o, d
}

// The main scenario: requests in flight at SIGTERM — a slow request, a 5s
// event stream and a WebSocket the client closes after 3s — all complete;
// readiness flips at once; the lame-duck period serves; then new requests
// are refused with the drain 503 (never reset or refused); and the process
// exits right after the last request.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	const lameDuck = 1500 * time.Millisecond
	a := startApp(t, "EBB_GRACE_PERIOD=20", "HELLO_LAME_DUCK=1500ms")

	streamed := a.goDo("GET", "/stream?seconds=5")
	slowed := a.goDo("GET", "/slow?seconds=2")
	wsOpened, wsDone := a.wsEcho(3 * time.Second)
	<-wsOpened
	a.waitStats("3 requests in flight", func(s statsBody) bool { return s.InFlight == 3 })
	// A client with a connection kept alive from before the signal.
	keepAlive := &http.Transport{}
	defer keepAlive.CloseIdleConnections()
	kaClient := &http.Client{Transport: keepAlive, Timeout: 5 * time.Second}
	if resp, err := kaClient.Post(a.url+"/hello", "", nil); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	t0 := a.signal(syscall.SIGTERM)

	// Readiness: 503 at once (within the lame-duck period, so that the
	// platform stops routing before the app refuses anything).
	for {
		resp, err := a.client.Get(a.url + "/ready")
		if err != nil {
			t.Fatalf("GET /ready after SIGTERM: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			t.Logf("/ready answered 503 %v after SIGTERM", time.Since(t0).Round(time.Microsecond))
			break
		}
		if time.Since(t0) > lameDuck {
			t.Fatalf("/ready still %d at the end of the lame-duck period, %v after SIGTERM", resp.StatusCode, time.Since(t0))
		}
		time.Sleep(2 * time.Millisecond)
	}

	// Lame duck: new requests still served.
	if o := <-a.goDo("POST", "/hello"); time.Since(t0) < lameDuck-50*time.Millisecond {
		if o.err != nil || o.code != 200 || !strings.Contains(o.body, "Hello Cerebrium!") {
			t.Errorf("POST /hello during the lame-duck period: %d %q %v; want 200", o.code, o.body, o.err)
		}
	}

	// After it, and while requests remain in flight: the drain 503 for
	// every new request, on new connections, never a connection error.
	// The lame-duck timer starts when the app handles the signal, which on
	// a busy machine is a while after t0: wait until the app refuses.
	time.Sleep(time.Until(t0.Add(lameDuck)))
	for {
		resp, err := a.client.Post(a.url+"/hello", "", nil)
		if err != nil {
			t.Fatalf("new request after the lame-duck period: %v (want the drain 503)", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			t.Logf("refusing new requests %v after SIGTERM", time.Since(t0).Round(time.Millisecond))
			break
		}
		if time.Since(t0) > lameDuck+time.Second {
			t.Fatalf("new requests still answered %d %v after SIGTERM, with a %v lame-duck period", resp.StatusCode, time.Since(t0), lameDuck)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", a.url+"/hello", nil)
	resp, err := kaClient.Do(req)
	if err != nil {
		t.Fatalf("request on a kept-alive connection while draining: %v (want the drain 503)", err)
	}
	resp.Body.Close()
	if !reused || resp.StatusCode != 503 || !resp.Close || resp.Header.Get(graceful.DrainHeader) != "1" {
		t.Errorf("request on a kept-alive connection while draining: reused=%v %d close=%v %v; want the drain 503 with Connection: close",
			reused, resp.StatusCode, resp.Close, resp.Header)
	}
	probes := 0
	var last outcome
	streamDone := false
	for !streamDone {
		select {
		case last = <-streamed:
			streamDone = true
			continue
		default:
		}
		req, _ := http.NewRequest("POST", a.url+"/hello", nil)
		resp, err := a.client.Do(req)
		if err != nil {
			// Legitimate only if the last request ended meanwhile and the
			// app is closing its listener.
			select {
			case last = <-streamed:
				streamDone = true
				continue
			case <-time.After(200 * time.Millisecond):
			}
			t.Fatalf("new request while draining: %v (want the drain 503)", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !resp.Close ||
			resp.Header.Get(graceful.DrainHeader) != "1" {
			t.Fatalf("new request while draining: %d close=%v headers %v; want 503 with Retry-After, Connection: close and %s: 1",
				resp.StatusCode, resp.Close, resp.Header, graceful.DrainHeader)
		}
		probes++
		time.Sleep(50 * time.Millisecond)
	}
	if probes < 20 {
		t.Errorf("only %d new requests probed the drain, want dozens", probes)
	}

	// The in-flight requests completed in full.
	if last.err != nil || last.code != 200 || strings.Count(last.body, "event: tick") != 5 ||
		!strings.Contains(last.body, "event: done\ndata: {\"events\":5}") {
		t.Errorf("stream: %d %v, body:\n%s", last.code, last.err, last.body)
	}
	if o := <-slowed; o.err != nil || o.code != 200 || !strings.Contains(o.body, `"slept_seconds":2`) {
		t.Errorf("slow: %d %q %v; want 200 after 2s", o.code, o.body, o.err)
	}
	ws := <-wsDone
	if ws.err != nil || ws.code < 10 {
		t.Errorf("WebSocket: %d echoes, close error %v; want >= 10 echoes and a clean close", ws.code, ws.err)
	}
	if d := ws.at.Sub(t0); d < 2*time.Second {
		t.Errorf("WebSocket ended %v after SIGTERM, before the client closed it", d)
	}

	// Right after the last request: well before any timer of the drain
	// (the 20 s grace period) could have run out.
	exit := a.waitExit(2 * time.Second)
	if d := exit.Sub(last.at); d > time.Second {
		t.Errorf("process exited %v after the last request completed, want at once", d)
	}
	t.Logf("exit %v after SIGTERM, %v after the stream ended; %d drain probes",
		exit.Sub(t0).Round(time.Millisecond), exit.Sub(last.at).Round(time.Millisecond), probes)
}

func TestIdleExitsAtOnce(t *testing.T) {
	a := startApp(t)
	if o := <-a.goDo("POST", "/hello"); o.code != 200 || o.body != "{\"message\":\"Hello Cerebrium!\"}\n" {
		t.Fatalf("POST /hello: %d %q %v", o.code, o.body, o.err)
	}
	t0 := a.signal(syscall.SIGTERM)
	// At once: the grace period is the default 900 s, and nothing is in
	// flight.
	d := a.waitExit(2 * time.Second).Sub(t0)
	t.Logf("idle exit %v after SIGTERM (the app's own count: %v)", d.Round(time.Microsecond), a.drainTook())
}

func TestSIGINTDrainsToo(t *testing.T) {
	a := startApp(t)
	slowed := a.goDo("GET", "/slow?seconds=0.5")
	a.waitStats("1 request in flight", func(s statsBody) bool { return s.InFlight == 1 })
	a.signal(syscall.SIGINT)
	if o := <-slowed; o.code != 200 {
		t.Fatalf("slow: %d %v", o.code, o.err)
	}
	a.waitExit(time.Second)
}

func TestGracePeriodCancelsAtTheDeadline(t *testing.T) {
	// EBB_GRACE_PERIOD=1: requests are cancelled at 0.9s (the default
	// reserve is a tenth), hooks have the last 0.1s.
	a := startApp(t, "EBB_GRACE_PERIOD=1")
	slowed := a.goDo("GET", "/slow?seconds=30")
	a.waitStats("1 request in flight", func(s statsBody) bool { return s.InFlight == 1 })
	t0 := a.signal(syscall.SIGTERM)
	o := <-slowed
	if o.err != nil || o.code != 503 || !strings.Contains(o.body, graceful.ErrGracePeriodExpired.Error()) {
		t.Fatalf("slow: %d %q %v; want the handler's 503 naming %q", o.code, o.body, o.err, graceful.ErrGracePeriodExpired)
	}
	// Not before 0.9 s after the signal; the upper bounds only tell a
	// cancellation at the deadline from none, since a loaded machine
	// delivers signals and wakes processes late.
	if d := o.at.Sub(t0); d < 850*time.Millisecond || d > 2*time.Second {
		t.Errorf("request cancelled %v after SIGTERM, want 900ms", d)
	}
	exit := a.waitExit(3 * time.Second)
	if d := exit.Sub(o.at); d > time.Second {
		t.Errorf("process exited %v after the cancelled request ended, want at once", d)
	}
	// Within the grace period, as the app counts it from the signal:
	// every phase of the drain is bounded by its deadline.
	if took := a.drainTook(); took > time.Second+100*time.Millisecond {
		t.Errorf("the app drained for %v, beyond the 1s grace period", took)
	}
}

func TestMaxConcurrencyQueue(t *testing.T) {
	a := startApp(t, "HELLO_MAX_CONCURRENCY=2", "HELLO_QUEUE_SIZE=1")
	t0 := time.Now()
	first := []<-chan outcome{a.goDo("GET", "/slow?seconds=1"), a.goDo("GET", "/slow?seconds=1")}
	a.waitStats("2 requests in flight", func(s statsBody) bool { return s.InFlight == 2 })
	waiting := a.goDo("GET", "/slow?seconds=0.2")
	a.waitStats("1 request queued", func(s statsBody) bool { return s.Queued == 1 })

	// Queue full: the next one is refused at once, marked as not processed.
	resp, err := a.client.Post(a.url+"/hello", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get(graceful.DrainHeader) != "1" {
		t.Fatalf("request over a full queue: %d %v; want 503 with Retry-After and %s", resp.StatusCode, resp.Header, graceful.DrainHeader)
	}

	for _, c := range first {
		if o := <-c; o.code != 200 {
			t.Fatalf("first requests: %d %v", o.code, o.err)
		}
	}
	o := <-waiting
	if o.code != 200 {
		t.Fatalf("queued request: %d %q %v; want 200 after waiting", o.code, o.body, o.err)
	}
	if d := o.at.Sub(t0); d < time.Second {
		t.Errorf("queued request finished %v after the start, before a slot was free", d)
	}
	if s := a.stats(); s.MaxInFlight != 2 || s.Served != 3 {
		t.Errorf("stats %+v; want max_in_flight 2, served 3", s)
	}
}

func TestBadEnvironmentExplains(t *testing.T) {
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), "PORT=1", "HELLO_LAME_DUCK=soon")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("app started with HELLO_LAME_DUCK=soon")
	}
	if !strings.Contains(string(out), `HELLO_LAME_DUCK=\"soon\"`) || !strings.Contains(string(out), "500ms") {
		t.Errorf("error output does not name the variable and what is accepted:\n%s", out)
	}
}

func TestStartupDelayKeepsReadinessDown(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT="+strconv.Itoa(port), "HELLO_STARTUP_DELAY=500ms")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	go io.Copy(io.Discard, bufio.NewReader(stderr))
	client := &http.Client{Timeout: 5 * time.Second}
	t0 := time.Now()
	var sawStarting bool
	for time.Since(t0) < 5*time.Second {
		resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/ready")
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			sawStarting = true
		}
		if resp.StatusCode == 200 {
			if !sawStarting || time.Since(t0) < 400*time.Millisecond {
				t.Errorf("ready after %v (saw 503 first: %v), want 503 for the 500ms warm-up", time.Since(t0), sawStarting)
			}
			client.CloseIdleConnections()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("never ready")
}
