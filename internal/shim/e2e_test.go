package shim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ebb-run/ebb/graceful"
	"github.com/ebb-run/ebb/internal/testapps"
)

// uvicornArgs runs the plain FastAPI fixture on Debian's uvicorn, naming
// the configured port literally as a Dockerfile CMD would.
func uvicornArgs(module string) []string {
	return []string{testapps.DebianPython, "-m", "uvicorn", module + ":app",
		"--app-dir", testapps.PythonDir(), "--host", "127.0.0.1", "--port", "8000"}
}

func assertDrainAnswer(t *testing.T, r result) {
	t.Helper()
	if r.err != nil {
		t.Errorf("request during drain: %v, want the 503 drain answer", r.err)
		return
	}
	if r.code != http.StatusServiceUnavailable || r.header.Get(graceful.DrainHeader) == "" ||
		!r.close || r.header.Get("Retry-After") == "" {
		t.Errorf("request during drain: %d close=%v %v, want 503 with %s, Connection: close, Retry-After",
			r.code, r.close, r.header, graceful.DrainHeader)
	}
}

// forEachServer runs test against ebb run with its event loops and with
// net/http alone; mode is the flag that selects it.
func forEachServer(t *testing.T, test func(t *testing.T, mode string)) {
	for _, mode := range []string{"--event-loops=true", "--event-loops=false"} {
		t.Run(strings.TrimPrefix(mode, "--"), func(t *testing.T) { test(t, mode) })
	}
}

// TestUvicornWithoutSigtermHandling: uvicorn closes its socket at SIGTERM;
// behind ebb run nothing is dropped.
func TestUvicornWithoutSigtermHandling(t *testing.T) {
	forEachServer(t, testUvicornWithoutSigtermHandling)
}

func testUvicornWithoutSigtermHandling(t *testing.T, mode string) {
	e := startEbb(t, append([]string{mode, "--port", "8000", "--ready-path", "/ready", "--grace", "6",
		"--concurrency", "10", "--"}, uvicornArgs("plain")...)...)
	e.waitReady("/ready", 20*time.Second)
	e.waitLog(`rewrote the command for the internal port`, time.Second)

	c := newClient()
	var inflight []<-chan result
	for range 5 {
		inflight = append(inflight, goDo(c, e.url("/sleep?s=1.5")))
	}
	e.waitMetric("ebb_run_requests_in_flight", 5, 5*time.Second)
	termAt := e.sigterm()

	// Readiness flips at once; new requests get the drain answer.
	e.waitLog("refusing new requests", 5*time.Second)
	if after := e.refusingAfter(); after > 500*time.Millisecond {
		t.Errorf("refusing new requests %v after SIGTERM, want at once (no lame duck)", after)
	}
	ready := do(newClient(), "GET", e.url("/ready"))
	if ready.code != http.StatusServiceUnavailable {
		t.Errorf("/ready after SIGTERM: %d %v, want 503", ready.code, ready.err)
	}
	for range 3 {
		assertDrainAnswer(t, do(newClient(), "GET", e.url("/hello")))
	}
	var last time.Time
	for i, ch := range inflight {
		r := <-ch
		if r.err != nil || r.code != http.StatusOK || !strings.Contains(r.body, "slept") {
			t.Errorf("in-flight request %d: %d %q %v, want 200", i, r.code, r.body, r.err)
		}
		if r.at.After(last) {
			last = r.at
		}
	}
	code := e.wait(10 * time.Second)
	t.Logf("SIGTERM -> last in-flight answered %v -> ebb exited %v later (code %d)",
		last.Sub(termAt).Round(time.Millisecond), e.exitAt.Sub(last).Round(time.Millisecond), code)
	if gap := e.exitAt.Sub(last); gap > 1500*time.Millisecond {
		t.Errorf("ebb exited %v after the last in-flight request; want right after", gap)
	}
	if strings.Contains(e.out.String(), "SIGKILL") {
		t.Errorf("uvicorn needed SIGKILL")
	}
	e.assertGroupGone()
}

// TestSeedPatternBehindEbbRun: the seed's FastAPI lifespan pattern, unchanged,
// drains cleanly behind ebb run too.
func TestSeedPatternBehindEbbRun(t *testing.T) {
	e := startEbb(t, append([]string{"--port", "8000", "--ready-path", "/ready", "--grace", "6", "--"},
		uvicornArgs("seed")...)...)
	e.waitReady("/ready", 20*time.Second)
	slow := goDo(newClient(), e.url("/sleep?s=1"))
	e.waitMetric("ebb_run_requests_in_flight", 1, 5*time.Second)
	e.sigterm()
	e.waitLog("refusing new requests", 5*time.Second)
	assertDrainAnswer(t, do(newClient(), "POST", e.url("/hello")))
	if r := <-slow; r.code != http.StatusOK {
		t.Errorf("in-flight: %d %v, want 200", r.code, r.err)
	}
	e.wait(10 * time.Second)
	e.assertGroupGone()
}

// TestAppIgnoringSigterm: SIGKILL at the grace period, 504 for what was in
// flight.
func TestAppIgnoringSigterm(t *testing.T) {
	e := startEbb(t, "--grace", "2", "--ready-path", "/ready", "--", appServerBin, "-on-sigterm", "ignore")
	e.waitReady("/ready", 10*time.Second)
	slow := goDo(newClient(), e.url("/sleep?d=30s"))
	e.waitMetric("ebb_run_requests_in_flight", 1, 5*time.Second)
	termAt := e.sigterm()
	r := <-slow
	if r.code != http.StatusGatewayTimeout {
		t.Errorf("in-flight at SIGKILL: %d %v, want 504", r.code, r.err)
	}
	code := e.wait(10 * time.Second)
	took := e.exitAt.Sub(termAt)
	t.Logf("exited %v after SIGTERM with code %d", took.Round(time.Millisecond), code)
	if took < 2*time.Second || took > 3500*time.Millisecond {
		t.Errorf("exited %v after SIGTERM, want just after the 2s grace period", took)
	}
	if code != 137 {
		t.Errorf("exit code %d, want 137 (the app was SIGKILLed)", code)
	}
	e.assertGroupGone()
}

// TestAppIgnoringSigtermWhenIdle: no request in flight, the app gets SIGTERM
// at once, ignores it, and is SIGKILLed at the grace period.
func TestAppIgnoringSigtermWhenIdle(t *testing.T) {
	e := startEbb(t, "--grace", "1", "--", appServerBin, "-on-sigterm", "ignore")
	e.waitReady("/", 10*time.Second)
	termAt := e.sigterm()
	e.waitLog("got SIGTERM (ignored)", 2*time.Second)
	e.wait(5 * time.Second)
	if took := e.exitAt.Sub(termAt); took < time.Second || took > 2500*time.Millisecond {
		t.Errorf("exited %v after SIGTERM, want just after the 1s grace period", took)
	}
	e.assertGroupGone()
}

// TestShellFormGetsSigterm: sh -c with more than one command does not exec,
// and a shell does not pass SIGTERM on; signalling the group does.
func TestShellFormGetsSigterm(t *testing.T) {
	// dash does not exec the last command of "cd ... && server".
	script := "cd " + testapps.PythonDir() + " && " + strings.Join(uvicornArgs("plain"), " ")
	e := startEbb(t, "--port", "8000", "--ready-path", "/ready", "--grace", "10", "--", "sh", "-c", script)
	e.waitReady("/ready", 20*time.Second)
	slow := goDo(newClient(), e.url("/sleep?s=0.5"))
	e.waitMetric("ebb_run_requests_in_flight", 1, 5*time.Second)
	termAt := e.sigterm()
	if r := <-slow; r.code != http.StatusOK {
		t.Errorf("in-flight: %d %v, want 200", r.code, r.err)
	}
	e.wait(8 * time.Second)
	out := e.out.String()
	if !strings.Contains(out, "Finished server process") {
		t.Errorf("uvicorn did not shut down on SIGTERM through the shell")
	}
	if took := e.exitAt.Sub(termAt); took > 5*time.Second {
		t.Errorf("took %v: SIGTERM did not reach uvicorn (waited for SIGKILL)", took)
	}
	e.assertGroupGone()
}

// TestConcurrencyLimitHoldsExactly: 200 concurrent clients, the app never
// sees more than --concurrency at once.
func TestConcurrencyLimitHoldsExactly(t *testing.T) {
	forEachServer(t, testConcurrencyLimitHoldsExactly)
}

func testConcurrencyLimitHoldsExactly(t *testing.T, mode string) {
	const limit, clients = 4, 200
	e := startEbb(t, mode, "--concurrency", fmt.Sprint(limit), "--queue", "400", "--", appServerBin)
	e.waitReady("/", 10*time.Second)
	c := newClient()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range clients {
		wg.Go(func() {
			r := do(c, "GET", e.url("/sleep?d=20ms"))
			mu.Lock()
			codes[r.code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != clients {
		t.Errorf("status codes %v, want %d x 200", codes, clients)
	}
	peak := do(c, "GET", e.url("/max"))
	if peak.body != fmt.Sprint(limit) {
		t.Errorf("the app saw at most %s requests at once, want exactly %d", peak.body, limit)
	}
}

// TestQueueFull: beyond concurrency + queue, 503 with Retry-After and the
// drain marker.
func TestQueueFull(t *testing.T) {
	e := startEbb(t, "--concurrency", "1", "--queue", "1", "--", appServerBin)
	e.waitReady("/", 10*time.Second)
	c := newClient()
	a := goDo(c, e.url("/sleep?d=500ms"))
	e.waitMetric("ebb_run_requests_in_flight", 1, 5*time.Second)
	b := goDo(c, e.url("/sleep?d=10ms"))
	e.waitMetric("ebb_run_requests_queued", 1, 5*time.Second)
	r := do(c, "GET", e.url("/"))
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || r.header.Get(graceful.DrainHeader) == "" {
		t.Errorf("over the queue: %d %v, want 503 with Retry-After and %s", r.code, r.header, graceful.DrainHeader)
	}
	if ra, rb := <-a, <-b; ra.code != 200 || rb.code != 200 {
		t.Errorf("admitted requests: %d, %d; want 200, 200", ra.code, rb.code)
	}
}

// TestStreamAndWebSocketDrain: an SSE stream and a WebSocket in flight at
// SIGTERM run to their natural end; only then is the app stopped.
func TestStreamAndWebSocketDrain(t *testing.T) {
	e := startEbb(t, "--grace", "8", "--ready-path", "/ready", "--", appServerBin, "-on-sigterm", "graceful")
	e.waitReady("/ready", 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+e.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	stream := make(chan result, 1)
	firstEvent := make(chan struct{})
	go func() {
		resp, err := http.Get(e.url("/stream?n=10&every=100ms"))
		if err != nil {
			stream <- result{err: err}
			return
		}
		defer resp.Body.Close()
		buf := make([]byte, 64)
		var body strings.Builder
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 && body.Len() == 0 {
				close(firstEvent) // flushed at once, not buffered
			}
			body.Write(buf[:n])
			if err != nil {
				break
			}
		}
		stream <- result{code: resp.StatusCode, body: body.String(), at: time.Now()}
	}()
	select {
	case <-firstEvent:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream's first event was not flushed through the shim")
	}
	e.waitMetric("ebb_run_requests_in_flight", 2, 5*time.Second)
	e.sigterm()
	e.waitLog("refusing new requests", 5*time.Second)
	assertDrainAnswer(t, do(newClient(), "GET", e.url("/")))

	// The WebSocket keeps working during the drain.
	for i := range 5 {
		msg := fmt.Sprintf("ping %d", i)
		if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("ws write during drain: %v", err)
		}
		_, got, err := ws.Read(ctx)
		if err != nil || string(got) != msg {
			t.Fatalf("ws echo during drain: %q %v", got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case <-e.done:
		t.Fatal("ebb exited while a WebSocket was open")
	default:
	}
	r := <-stream
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, "data: 9") || !strings.Contains(r.body, "data: end") {
		t.Errorf("stream: %d %q %v, want all 10 events and the end", r.code, r.body, r.err)
	}
	closedAt := time.Now()
	if err := ws.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Logf("ws close: %v", err)
	}
	e.wait(5 * time.Second)
	if gap := e.exitAt.Sub(closedAt); gap > 1500*time.Millisecond {
		t.Errorf("ebb exited %v after the WebSocket closed; want right after", gap)
	}
	if !strings.Contains(e.out.String(), "got SIGTERM") {
		t.Errorf("the app never got SIGTERM")
	}
	e.assertGroupGone()
}

// TestAppExitsOnItsOwn: ebb exits with the app's code; requests in flight get
// 502.
func TestAppExitsOnItsOwn(t *testing.T) {
	e := startEbb(t, "--concurrency", "4", "--", appServerBin)
	e.waitReady("/", 10*time.Second)
	slow := goDo(newClient(), e.url("/sleep?d=20s"))
	e.waitMetric("ebb_run_requests_in_flight", 1, 5*time.Second)
	if r := do(newClient(), "GET", e.url("/exit?code=3")); r.code != 200 {
		t.Fatalf("/exit: %d %v", r.code, r.err)
	}
	if r := <-slow; r.code != http.StatusBadGateway {
		t.Errorf("in flight when the app exited: %d %v, want 502", r.code, r.err)
	}
	if code := e.wait(5 * time.Second); code != 3 {
		t.Errorf("ebb exit code %d, want the app's 3", code)
	}
	e.assertGroupGone()
}

// TestRequestsWaitForReadiness: a request sent while the app starts waits
// for it instead of failing; readiness answers 503 meanwhile.
func TestRequestsWaitForReadiness(t *testing.T) {
	// The app starts 3 s late; ebb listens at once and answers for it.
	e := startEbb(t, "--ready-path", "/ready", "--", "sh", "-c", "sleep 3; exec "+appServerBin)
	e.waitListening(10 * time.Second)
	if r := do(newClient(), "GET", e.url("/ready")); r.code != http.StatusServiceUnavailable {
		t.Errorf("/ready while starting: %d %v, want 503", r.code, r.err)
	}
	start := time.Now()
	r := do(newClient(), "GET", e.url("/"))
	if r.code != 200 || r.body != "ok" {
		t.Errorf("request while starting: %d %q %v, want 200 ok once ready", r.code, r.body, r.err)
	}
	t.Logf("waited %v for the app", time.Since(start).Round(time.Millisecond))
	if v, ok := e.metric("ebb_run_cold_start_seconds"); !ok || v < 2 {
		t.Errorf("cold start metric %v %v, want about 3s", v, ok)
	}
}

// TestMetricsAndRequestID: /metrics on the admin listener counts requests by
// code; X-Request-Id is added.
func TestMetricsAndRequestID(t *testing.T) {
	e := startEbb(t, "--", appServerBin)
	e.waitReady("/", 10*time.Second)
	r := do(newClient(), "GET", e.url("/"))
	if r.header.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id in the response: %v", r.header)
	}
	resp, err := http.Get("http://" + e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(resp))
	for _, want := range []string{`ebb_run_requests_total{code="200"}`, `ebb_run_state{state="ready"} 1`,
		"ebb_run_request_duration_seconds_bucket", "ebb_run_requests_in_flight 0", "ebb_run_concurrency_limit 100"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func readAll(resp *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

// TestConfigFile: without a command, ebb run runs the entrypoint of
// ./cerebrium.toml with its concurrency, readiness path and grace period;
// flags override the file.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	toml := fmt.Sprintf(`[cerebrium.deployment]
name = "cfg"

[cerebrium.scaling]
replica_concurrency = 3
response_grace_period = 1

[cerebrium.runtime.custom]
port = 8000
entrypoint = [%q, "-addr", "127.0.0.1:8000", "-on-sigterm", "ignore"]
readycheck_endpoint = "/ready"
`, appServerBin)
	if err := os.WriteFile(filepath.Join(dir, "cerebrium.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startEbbIn(t, dir, "--queue", "300")
	e.waitReady("/ready", 10*time.Second)
	e.waitLog(`127.0.0.1:8000\" ->`, time.Second) // the literal port was rewritten
	if v, _ := e.metric("ebb_run_concurrency_limit"); v != 3 {
		t.Errorf("concurrency limit %v, want 3 from the file", v)
	}
	c := newClient()
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() { do(c, "GET", e.url("/sleep?d=10ms")) })
	}
	wg.Wait()
	if r := do(c, "GET", e.url("/max")); r.body != "3" {
		t.Errorf("peak concurrency %q, want 3", r.body)
	}
	termAt := e.sigterm()
	e.wait(5 * time.Second)
	if took := e.exitAt.Sub(termAt); took < time.Second || took > 2500*time.Millisecond {
		t.Errorf("exited %v after SIGTERM; want the file's 1s grace period", took)
	}
}

// TestBadConfigFile: a config that does not load stops ebb run with the
// loader's message, before anything starts.
func TestBadConfigFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cerebrium.toml"), []byte("[cerebrium.scaling]\nreplica_concurency = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startEbbIn(t, dir, "--", appServerBin)
	if code := e.wait(10 * time.Second); code == 0 {
		t.Errorf("exit code 0 with a bad config")
	}
	if out := e.out.String(); !strings.Contains(out, "replica_concurency") || strings.Contains(out, "app started") {
		t.Errorf("output %q: want the loader's error naming the key, and no app started", out)
	}
}

// TestForwardsSIGHUP: signals other than SIGTERM go to the app's group; the
// appserver dies of SIGHUP and ebb exits with its status. --admin "" turns
// the metrics listener off.
func TestForwardsSIGHUP(t *testing.T) {
	e := startEbb(t, "--admin", "", "--", appServerBin)
	e.waitReady("/", 10*time.Second)
	if _, ok := e.metric("ebb_run_state"); ok {
		t.Errorf("metrics served with --admin \"\"")
	}
	if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if code := e.wait(5 * time.Second); code != 128+int(syscall.SIGHUP) {
		t.Errorf("exit code %d, want %d (the app died of the forwarded SIGHUP)", code, 128+int(syscall.SIGHUP))
	}
	e.waitLog(`forwarding signal to the app`, time.Second)
	e.assertGroupGone()
}

// TestLameDuck: after SIGTERM, readiness answers 503 at once while requests
// are still served for the lame-duck period; then the drain answer.
func TestLameDuck(t *testing.T) {
	e := startEbb(t, "--lame-duck", "700ms", "--ready-path", "/ready", "--", appServerBin, "-on-sigterm", "graceful")
	e.waitReady("/ready", 10*time.Second)
	slow := goDo(newClient(), e.url("/sleep?d=1500ms")) // keeps the drain going past the lame duck
	e.waitMetric("ebb_run_requests_in_flight", 1, 5*time.Second)
	termAt := e.sigterm()
	e.waitLog("readiness now answers 503", 5*time.Second)
	if r := do(newClient(), "GET", e.url("/ready")); r.code != http.StatusServiceUnavailable {
		t.Errorf("/ready in the lame-duck period: %d, want 503", r.code)
	}
	if r := do(newClient(), "GET", e.url("/")); r.code != 200 && time.Since(termAt) < 600*time.Millisecond {
		t.Errorf("request in the lame-duck period: %d %v, want 200", r.code, r.err)
	}
	e.waitLog("refusing new requests", 5*time.Second)
	assertDrainAnswer(t, do(newClient(), "GET", e.url("/")))
	// At the end of the lame-duck period, as ebb run counts it from the
	// signal: not before, and not at the end of the in-flight request.
	if after := e.refusingAfter(); after < 700*time.Millisecond || after > 1200*time.Millisecond {
		t.Errorf("refusing new requests %v after SIGTERM, want at the end of the 700ms lame-duck period", after)
	}
	if r := <-slow; r.code != 200 {
		t.Errorf("in-flight request: %d %v, want 200", r.code, r.err)
	}
	e.wait(5 * time.Second)
}

// TestLargeBodiesStream: 100 MB up and 100 MB back through ebb run, without
// ebb holding either in memory.
func TestLargeBodiesStream(t *testing.T) {
	e := startEbb(t, "--", appServerBin)
	e.waitReady("/", 10*time.Second)
	const size = 100 << 20
	req, err := http.NewRequest("POST", e.url("/echo"), io.LimitReader(zeros{}, size))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != size || resp.StatusCode != 200 {
		t.Fatalf("echo: %d bytes, status %d, %v; want %d bytes, 200", n, resp.StatusCode, err, size)
	}
	hwm := peakRSS(t, e.cmd.Process.Pid)
	t.Logf("ebb run peak RSS after 2 x 100 MB: %d MB", hwm>>20)
	if hwm > 60<<20 {
		t.Errorf("ebb run peak RSS %d MB: a body was buffered", hwm>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// peakRSS reads VmHWM of pid in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			var kb int64
			fmt.Sscan(f[1], &kb)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestReadinessFlipsPromptly measures the time from SIGTERM to the first
// 503 on the readiness path.
func TestReadinessFlipsPromptly(t *testing.T) {
	e := startEbb(t, "--ready-path", "/ready", "--", appServerBin, "-on-sigterm", "graceful")
	e.waitReady("/ready", 10*time.Second)
	slow := goDo(newClient(), e.url("/sleep?d=1s")) // keeps ebb draining meanwhile
	e.waitMetric("ebb_run_requests_in_flight", 1, 5*time.Second)
	c := newClient()
	termAt := e.sigterm()
	for {
		r := do(c, "GET", e.url("/ready"))
		if r.code == http.StatusServiceUnavailable {
			break
		}
		if r.err != nil || time.Since(termAt) > 5*time.Second {
			t.Fatalf("/ready after SIGTERM: %d %v", r.code, r.err)
		}
	}
	flip := time.Since(termAt)
	t.Logf("readiness answered 503 %v after SIGTERM", flip.Round(100*time.Microsecond))
	if flip > 500*time.Millisecond {
		t.Errorf("readiness flipped %v after SIGTERM, want at once", flip)
	}
	if r := <-slow; r.code != 200 {
		t.Errorf("in-flight: %d %v", r.code, r.err)
	}
	e.wait(5 * time.Second)
}
