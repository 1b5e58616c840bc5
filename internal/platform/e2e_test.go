package platform_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/platform"
)

// mix is the steady load of the zero-failure tests: short POST /hello
// requests alongside long (3 s) /slow and streaming /stream ones.
var mix = loadMix{hello: 3, slow: 2, stream: 1, long: 3}

func TestRoutesBothPrefixesAndStripsThem(t *testing.T) {
	r := startPlatform(t, nil, helloConfig("hello"))
	for _, u := range []string{r.url("hello", "/hello"), r.p.RouterURL() + "/v4/p-1234/hello/hello"} {
		resp, err := http.Post(u, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello Cerebrium!") {
			t.Errorf("POST %s: %d %s", u, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("POST %s: no X-Request-Id in the response", u)
		}
	}
	resp, err := http.Get(r.p.RouterURL() + "/nope/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown app: status %d, want 404", resp.StatusCode)
	}
}

func TestScaleDownUnderLoadDropsNothing(t *testing.T) {
	cfg := helloConfig("hello")
	cfg.Scaling.MinReplicas = 3
	r := startPlatform(t, nil, cfg)
	l := startLoad(t, r.url("hello", ""), mix)
	time.Sleep(1500 * time.Millisecond)
	if err := r.p.App("hello").SetBounds(1, 5); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one replica left", 15*time.Second, func() bool { return len(r.replicas("hello")) == 1 })
	time.Sleep(time.Second)
	l.stopAndCheck(t)
}

func TestRolloutUnderLoadDropsNothing(t *testing.T) {
	for _, d := range []int{0, 2} {
		t.Run(map[int]string{0: "at once", 2: "in steps over 2s"}[d], func(t *testing.T) {
			cfg := helloConfig("hello")
			cfg.Scaling.MinReplicas = 2
			r := startPlatform(t, nil, cfg)
			l := startLoad(t, r.url("hello", ""), mix)
			time.Sleep(time.Second)
			next := helloConfig("hello")
			next.Scaling.MinReplicas = 2
			next.Scaling.RollOutDurationSeconds = d
			// Watch the new revision's share of traffic during the rollout.
			seen := map[int]time.Duration{}
			start := time.Now()
			watching := make(chan struct{})
			watched := make(chan struct{})
			go func() {
				defer close(watched)
				look := func() {
					for _, rev := range r.app(t, "hello").Revisions {
						if _, ok := seen[rev.Weight]; rev.N == 2 && !ok && len(rev.Replicas) > 0 {
							seen[rev.Weight] = time.Since(start)
						}
					}
				}
				for {
					look()
					select {
					case <-watching:
						// Once at 100% the rollout drains the old revision
						// and ends within milliseconds, often between two
						// looks: the state it ends in is the last one.
						look()
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			}()
			v, err := r.p.App("hello").Deploy(context.Background(), next)
			close(watching)
			<-watched
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("revision %d rolled out in %s; its traffic share over time: %v", v.N, time.Since(start), seen)
			if d > 0 {
				for _, w := range []int{20, 40, 60, 80, 100} {
					if _, ok := seen[w]; !ok {
						t.Errorf("the new revision never had %d%% of the traffic (saw %v)", w, seen)
					}
				}
				// The watcher sees each step up to a poll (or a late
				// wake-up on a loaded machine) after it happens.
				if span := seen[100] - seen[20]; span < 1700*time.Millisecond || span > 2600*time.Millisecond {
					t.Errorf("20%% → 100%% took %s, want roll_out_duration_seconds (2s)", span)
				}
			} else if _, ok := seen[20]; ok {
				t.Errorf("a rollout with roll_out_duration_seconds 0 went through 20%% (saw %v)", seen)
			}
			time.Sleep(time.Second)
			l.stopAndCheck(t)
			st := r.app(t, "hello")
			if len(st.Revisions) != 1 || st.Revisions[0].N != 2 || len(st.Revisions[0].Replicas) != 2 {
				t.Errorf("after the rollout: %+v, want revision 2 alone with 2 replicas", st.Revisions)
			}
		})
	}
}

func TestRolloutThatNeverGetsReadyIsRolledBack(t *testing.T) {
	r := startPlatform(t, nil, helloConfig("hello"))
	l := startLoad(t, r.url("hello", ""), loadMix{hello: 2})
	time.Sleep(300 * time.Millisecond)
	bad := helloConfig("hello")
	bad.Runtime.Custom.Entrypoint = []string{"/bin/sh", "-c", "echo config is broken >&2; exit 3"}
	_, err := r.p.App("hello").Deploy(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "rolled back") || !strings.Contains(err.Error(), "config is broken") {
		t.Fatalf("Deploy of a crashing revision: %v, want a rollback naming its output", err)
	}
	st := r.app(t, "hello")
	if len(st.Revisions) != 1 || st.Revisions[0].N != 1 {
		t.Errorf("after the rollback: %+v, want revision 1 alone", st.Revisions)
	}
	time.Sleep(300 * time.Millisecond)
	l.stopAndCheck(t)
}

func TestRolloutNotReadyInTimeIsRolledBack(t *testing.T) {
	r := startPlatform(t, nil, helloConfig("hello"))
	slow := helloConfig("hello")
	slow.Runtime.Custom.Entrypoint = []string{"/bin/sh", "-c", "sleep 30"}
	slow.Deployment.DeploymentInitializationTimeout = 1
	start := time.Now()
	_, err := r.p.App("hello").Deploy(context.Background(), slow)
	if err == nil || !strings.Contains(err.Error(), "deployment_initialization_timeout") {
		t.Fatalf("Deploy of a revision that never listens: %v, want a rollback naming deployment_initialization_timeout", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("rollback took %s", d)
	}
	if code := postHello(t, r.url("hello", "/hello")); code != 200 {
		t.Errorf("after the rollback: %d, want 200 from revision 1", code)
	}
}

func TestWebSocketThroughTheRouter(t *testing.T) {
	r := startPlatform(t, nil, helloConfig("hello"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(r.url("hello", "/ws"), "http://", "ws://", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, msg := range []string{"one", "two"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != msg {
			t.Fatalf("echo of %q: %q, %v", msg, got, err)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
}

func postHello(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestMigrationUnderLoadDropsNothing(t *testing.T) {
	cfg := helloConfig("hello")
	cfg.Scaling.MinReplicas = 2
	r := startPlatform(t, nil, cfg)
	l := startLoad(t, r.url("hello", ""), mix)
	time.Sleep(time.Second)
	old := r.replicas("hello")[0].ID
	to, err := r.p.App("hello").Migrate(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	l.stopAndCheck(t)
	var ids []string
	for _, rep := range r.replicas("hello") {
		ids = append(ids, rep.ID)
	}
	if len(ids) != 2 || strings.Contains(strings.Join(ids, ","), old+",") || ids[1] != to {
		t.Errorf("after migrating %s: replicas %v, want two ending with %s", old, ids, to)
	}
}

func TestConcurrencyNeverExceeded(t *testing.T) {
	cfg := helloConfig("hello")
	cfg.Scaling.MinReplicas = 2
	cfg.Scaling.ReplicaConcurrency = 2
	cfg.Scaling.ResponseGracePeriod = 10
	r := startPlatform(t, nil, cfg)
	l := startLoad(t, r.url("hello", ""), loadMix{hello: 4, slow: 6, long: 0.3})
	time.Sleep(2 * time.Second)
	l.stopAndCheck(t)
	for _, rep := range r.replicas("hello") {
		var st struct {
			MaxInFlight int `json:"max_in_flight"`
			Served      int `json:"served"`
		}
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(rep.Port) + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: served %d, max in flight %d", rep.ID, st.Served, st.MaxInFlight)
		if st.MaxInFlight > 2 {
			t.Errorf("%s had %d requests in flight at once; replica_concurrency is 2", rep.ID, st.MaxInFlight)
		}
		if st.MaxInFlight < 2 {
			t.Errorf("%s never had 2 requests at once: the test did not load it", rep.ID)
		}
	}
}

func TestIgnoredSIGTERMIsKilledAtGracePeriod(t *testing.T) {
	cfg := pythonConfig("stubborn", "")
	cfg.Runtime.Custom.Entrypoint = []string{"/usr/bin/python3", "ignore_sigterm.py"}
	cfg.Scaling.MinReplicas = 2
	cfg.Scaling.ResponseGracePeriod = 2
	cfg.Scaling.LoadBalancingAlgorithm = config.LBFirstAvailable
	r := startPlatform(t, nil, cfg)
	victim := r.replicas("stubborn")[0]
	// Fill the first replica with requests that outlive the grace period.
	client := &http.Client{Timeout: 10 * time.Second}
	codes := make(chan int, 4)
	for range 4 {
		go func() {
			resp, err := client.Get(r.url("stubborn", "/slow?seconds=8"))
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	waitFor(t, "the first replica full", 5*time.Second, func() bool { return r.replicas("stubborn")[0].InFlight == 4 })
	l := startLoad(t, r.url("stubborn", ""), loadMix{hello: 2})
	if _, err := r.p.App("stubborn").Migrate(context.Background(), victim.ID); err != nil {
		t.Fatal(err)
	}
	gone := time.Now()
	time.Sleep(300 * time.Millisecond)
	l.stopAndCheck(t)
	for range 4 {
		if c := <-codes; c != http.StatusGatewayTimeout {
			t.Errorf("request held by the replica that ignores SIGTERM: %d, want 504", c)
		}
	}
	// The fixture logs when it receives SIGTERM; the replica must be gone
	// response_grace_period later, not sooner and not much later. (The
	// fixture's handler may run, and log, a little after the signal.)
	term := sigtermTime(t, r, "stubborn", victim.ID)
	if d := gone.Sub(term); d < 1800*time.Millisecond || d > 2*time.Second+500*time.Millisecond {
		t.Errorf("replica gone %s after SIGTERM; want response_grace_period (2s)", d)
	} else {
		t.Logf("replica gone %s after SIGTERM (grace period 2s)", d)
	}
	if syscall.Kill(victim.PID, 0) == nil {
		t.Errorf("pid %d still alive", victim.PID)
	}
}

// sigtermTime reads, through the admin API, when a replica logged that it
// received SIGTERM.
func sigtermTime(t *testing.T, r *running, app, id string) time.Time {
	t.Helper()
	resp, err := http.Get(r.p.AdminURL() + "/v1/apps/" + app + "/logs?n=1000&replica=" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if _, after, ok := strings.Cut(line, "SIGTERM received at "); ok {
			var secs float64
			if _, err := fmt.Sscanf(after, "%f", &secs); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			return time.Unix(0, int64(secs*1e9))
		}
		if strings.Contains(line, "SIGTERM received") {
			hms, err := time.ParseInLocation("15:04:05.000", strings.Fields(line)[0], time.Local)
			if err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			now := time.Now()
			return time.Date(now.Year(), now.Month(), now.Day(), hms.Hour(), hms.Minute(), hms.Second(), hms.Nanosecond(), time.Local)
		}
	}
	t.Fatalf("replica %s never logged SIGTERM; its logs:\n%s", id, body)
	return time.Time{}
}

func TestSIGKILLFromOutside(t *testing.T) {
	cfg := helloConfig("hello")
	cfg.Scaling.MinReplicas = 2
	r := startPlatform(t, nil, cfg)
	l := startLoad(t, r.url("hello", ""), loadMix{hello: 4})
	time.Sleep(500 * time.Millisecond)
	victim := r.replicas("hello")[0]
	if err := syscall.Kill(-victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// Take the dead port: any connection to it is the router sending to a
	// dead replica.
	var dialled atomic.Int64
	taken := make(chan net.Listener, 1)
	defer func() {
		select {
		case ln := <-taken:
			ln.Close()
		default:
		}
	}()
	go func() {
		// The port is free once the router closed its side of the dead
		// connections.
		for time.Since(killed) < 2*time.Second {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(victim.Port)))
			if err != nil {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			taken <- ln
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				// The readiness probe may still look once before the
				// platform has reaped the dead process; a request for
				// anything else is the router's.
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				if req, err := http.ReadRequest(bufio.NewReader(c)); err != nil || req.URL.Path != "/ready" {
					dialled.Add(1)
				}
				c.Close()
			}
		}
	}()
	waitFor(t, "the killed replica restarted", 10*time.Second, func() bool {
		for _, rep := range r.replicas("hello") {
			if rep.ID == victim.ID && rep.State == platform.Ready && rep.PID != victim.PID {
				return true
			}
		}
		return false
	})
	time.Sleep(500 * time.Millisecond)
	l.stop()
	t.Logf("load: %d requests sent, %d failed", l.sent.Load(), l.failed.Load())
	// Only the requests the replica held when it died may fail (at most
	// replica_concurrency of them, at the moment of the kill); every
	// request not yet sent to it must go elsewhere.
	if n := l.failed.Load(); n > int64(cfg.Scaling.ReplicaConcurrency) {
		t.Errorf("%d requests failed, more than the %d the replica could hold:\n%s", n, cfg.Scaling.ReplicaConcurrency, strings.Join(l.failures, "\n"))
	}
	// They fail as the kill takes effect, not later: a request failing
	// later was sent to the dead replica. (The bound allows for a loaded
	// machine that runs the dying process's exit late.)
	for _, at := range l.failedAt {
		if d := at.Sub(killed); d > time.Second {
			t.Errorf("a request failed %s after the kill: %s", d, strings.Join(l.failures, "\n"))
		}
	}
	if n := dialled.Load(); n > 0 {
		t.Errorf("the router connected %d times to the dead replica's port", n)
	}
}

func TestShutdownUnderLoadFinishesInFlight(t *testing.T) {
	cfg := helloConfig("hello")
	cfg.Scaling.MinReplicas = 2
	r := startPlatform(t, nil, cfg)
	client := &http.Client{Timeout: 10 * time.Second}
	codes := make(chan int, 6)
	for range 6 {
		go func() {
			resp, err := client.Get(r.url("hello", "/slow?seconds=1.5"))
			if err != nil {
				codes <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	waitFor(t, "6 in flight", 5*time.Second, func() bool { return r.app(t, "hello").InFlight == 6 })
	start := time.Now()
	r.stop(t)
	t.Logf("stopped in %s", time.Since(start))
	for range 6 {
		if c := <-codes; c != 200 {
			t.Errorf("in-flight request at shutdown: %d, want 200", c)
		}
	}
}

func TestCrashLoopIsReportedWithItsOutput(t *testing.T) {
	cfg := helloConfig("crashy")
	cfg.Runtime.Custom.Entrypoint = []string{"/bin/sh", "-c", "echo cannot open model.bin >&2; exit 7"}
	cfg.Scaling.ResponseGracePeriod = 1
	r := launch(t, nil, cfg)
	waitFor(t, "the app reported failing", 10*time.Second, func() bool { return r.app(t, "crashy").Failing != "" })
	st := r.app(t, "crashy")
	if !strings.Contains(st.Failing, "cannot open model.bin") || !strings.Contains(st.Failing, "exit status 7") {
		t.Errorf("failing = %q, want the exit status and the last output", st.Failing)
	}
	// Requests wait for a replica that never comes, and time out.
	resp, err := http.Post(r.url("crashy", "/hello"), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("request to a crash-looping app: %d, want 504", resp.StatusCode)
	}
}

func TestFailingHealthCheckReplacesTheReplica(t *testing.T) {
	cfg := helloConfig("hello")
	cfg.Runtime.Custom.HealthcheckEndpoint = "/health-that-does-not-exist"
	r := startPlatform(t, nil, cfg)
	first := r.replicas("hello")[0]
	waitFor(t, "the replica replaced", 10*time.Second, func() bool {
		reps := r.replicas("hello")
		return len(reps) == 1 && reps[0].PID != first.PID && reps[0].Restarts > 0
	})
	if !strings.Contains(r.out.String(), "draining (health check failed 3 times") {
		t.Errorf("the replacement did not go through the termination sequence:\n%s", r.out.String())
	}
}

// TestAutoscalerSeam drives an app the way an autoscaler does: it is told
// at once when requests queue, reads the snapshot, and sets the replica
// count.
func TestAutoscalerSeam(t *testing.T) {
	cfg := helloConfig("hello")
	cfg.Scaling.ReplicaConcurrency = 1
	cfg.Scaling.LoadBalancingAlgorithm = config.LBFirstAvailable
	r := startPlatform(t, nil, cfg)
	a := r.p.App("hello")
	done := make(chan int, 3)
	for range 3 {
		go func() {
			resp, err := http.Get(r.url("hello", "/slow?seconds=1"))
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	select {
	case <-a.QueuedSignal():
	case <-time.After(5 * time.Second):
		t.Fatal("no queued signal while 3 requests wait for 1 slot")
	}
	st := a.Status()
	if st.Queued < 1 || st.InFlight != 1 {
		t.Errorf("snapshot: %d queued, %d in flight; want ≥1 queued behind 1 in flight", st.Queued, st.InFlight)
	}
	a.SetDesired(3)
	start := time.Now()
	for range 3 {
		if c := <-done; c != 200 {
			t.Errorf("request: %d, want 200", c)
		}
	}
	// Three replicas serve the three requests side by side: well under the
	// 3 s they would take one after another.
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("queued requests took %s after scaling out", d)
	}
	st = a.Status()
	if st.Desired != 3 || st.Ready != 3 {
		t.Errorf("after SetDesired(3): desired %d, ready %d", st.Desired, st.Ready)
	}
	a.SetDesired(10)
	if st := a.Status(); st.Desired != 5 {
		t.Errorf("SetDesired(10) with max_replicas 5: desired %d", st.Desired)
	}
}
