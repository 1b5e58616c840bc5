//go:build !shim

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-run/ebb/internal/platform"
	"github.com/ebb-run/ebb/internal/supervisor"
	"github.com/ebb-run/ebb/internal/testapps"
)

// TestUpEndToEnd runs `ebb up` in this process on the hello example, uses
// the platform commands against it, then interrupts it with a real SIGINT
// while requests are in flight: they must finish, and every replica
// process must be gone when `ebb up` returns.
func TestUpEndToEnd(t *testing.T) {
	bin, err := testapps.Build(t.TempDir(), "examples/hello")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	toml := fmt.Sprintf(`[cerebrium.deployment]
name = "hello"
disable_auth = false

[cerebrium.scaling]
min_replicas = 2
max_replicas = 3
replica_concurrency = 4
response_grace_period = 5

[cerebrium.runtime.custom]
port = 8000
entrypoint = [%q]
readycheck_endpoint = "/ready"
`, bin)
	if err := os.WriteFile(filepath.Join(dir, "cerebrium.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(platform.APIKeyEnv, "test-key")

	out := &testapps.Output{}
	exited := make(chan int, 1)
	go func() {
		exited <- run([]string{"up", dir, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--quiet"}, out, out)
	}()
	var router, admin string
	deadline := time.Now().Add(30 * time.Second)
	for router == "" || admin == "" || !strings.Contains(out.String(), "try: curl") {
		if time.Now().After(deadline) {
			t.Fatalf("ebb up not ready after 30s:\n%s", out.String())
		}
		select {
		case code := <-exited:
			t.Fatalf("ebb up exited with %d:\n%s", code, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := regexp.MustCompile(`hello: (http://127\.0\.0\.1:\d+)/hello/`).FindStringSubmatch(out.String()); m != nil {
			router = m[1]
		}
		if m := regexp.MustCompile(`admin: http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(out.String()); m != nil {
			admin = m[1]
		}
	}

	// Auth: no key → 401; the key → 200.
	if code := post(t, router+"/hello/hello", ""); code != http.StatusUnauthorized {
		t.Errorf("without a key: %d, want 401", code)
	}
	if code := post(t, router+"/v4/p-1/hello/hello", "test-key"); code != http.StatusOK {
		t.Errorf("with the key: %d, want 200", code)
	}

	// ebb status --json lists both replicas, ready, with their pids.
	code, stdout, stderr := runCLI(t, "status", "--json", "--admin", admin)
	if code != 0 {
		t.Fatalf("ebb status: exit %d: %s", code, stderr)
	}
	var st platform.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("ebb status --json: %v\n%s", err, stdout)
	}
	var pids []int
	for _, v := range st.Apps[0].Revisions {
		for _, r := range v.Replicas {
			if r.State != platform.Ready || r.PID == 0 || r.Port == 0 {
				t.Errorf("replica %+v, want ready with a pid and a port", r)
			}
			pids = append(pids, r.PID)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("status lists %d replicas, want 2:\n%s", len(pids), stdout)
	}
	if code, stdout, _ := runCLI(t, "status", "hello", "--admin", admin); code != 0 || !strings.Contains(stdout, "2 ready of 2 desired") {
		t.Errorf("ebb status hello: exit %d\n%s", code, stdout)
	}
	if code, stdout, stderr := runCLI(t, "scale", "hello", "--max", "4", "--admin", admin); code != 0 || !strings.Contains(stdout, "min 2, max 4") {
		t.Errorf("ebb scale: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "logs", "hello", "-n", "50", "--admin", admin); code != 0 || !strings.Contains(stdout, "ready in") {
		t.Errorf("ebb logs: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "migrate", "hello", "r9", "--admin", admin); code == 0 || !strings.Contains(stderr, "no replica") {
		t.Errorf("ebb migrate of an unknown replica: exit %d: %s", code, stderr)
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`ebb_requests_total{app="hello",code="200"} 1`, `ebb_requests_total{app="hello",code="401"} 1`,
		`ebb_replicas{app="hello",state="ready"} 2`, `ebb_cold_start_seconds_count{app="hello"} 2`} {
		if !strings.Contains(string(metrics), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	// Ctrl+C with requests in flight.
	codes := make(chan int, 4)
	for range 4 {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, router+"/hello/slow?seconds=1.5", nil)
			req.Header.Set("Authorization", "Bearer test-key")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	// SIGINT once all four are in flight (the replicas hold them).
	for deadline := time.Now().Add(10 * time.Second); inFlight(t, admin) < 4; {
		if time.Now().After(deadline) {
			t.Fatalf("the 4 slow requests are not in flight after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("ebb up exited with %d after SIGINT", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("ebb up still running 15s after SIGINT:\n%s", out.String())
	}
	for range 4 {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("request in flight at Ctrl+C: %d, want 200", c)
		}
	}
	for _, pid := range pids {
		if members, _ := supervisor.GroupMembers(pid); len(members) > 0 {
			t.Errorf("process group %d alive after ebb up exited", pid)
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if strings.Contains(out.String(), "still draining") {
		t.Errorf("one SIGINT was answered as a second one:\n%s", out.String())
	}
	if t.Failed() {
		t.Logf("ebb up output:\n%s", out.String())
	}
}

// inFlight sums ebb_replica_in_flight over the replicas, from /metrics.
func inFlight(t *testing.T, admin string) int {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "ebb_replica_in_flight{") {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			n += int(v)
		}
	}
	return n
}

func post(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
