package bench

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const wrkOutput = `Running 5s test @ http://127.0.0.1:40000/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    98.12us   40.00us   2.10ms   95.00%
    Req/Sec    10.01k   500.00    11.00k    70.00%
  Latency Distribution
     50%   87.00us
     75%   95.00us
     90%  110.00us
     99%    1.25ms
  50123 requests in 5.01s, 7.65MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  10004.59
Transfer/sec:      1.53MB
`

func TestParseWrk(t *testing.T) {
	got, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := loadResult{RPS: 10004.59, Requests: 50123, P50: 87 * time.Microsecond, P99: 1250 * time.Microsecond, Errors: 7}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("parseWrk (-want +got):\n%s", d)
	}
	if _, err := parseWrk("garbage"); err == nil {
		t.Fatal("parseWrk accepted output without numbers")
	}
}

// TestNginxConfigServes runs nginx with the generated configuration in
// front of the benchmark backend and checks that it proxies, with the
// request id returned.
func TestNginxConfigServes(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	backendAddr, _ := freePort()
	done := make(chan error, 1)
	go func() { done <- RunBackend(ctx, backendAddr) }()
	t.Cleanup(func() { cancel(); <-done })

	dir := t.TempDir()
	addr, _ := freePort()
	argv, err := nginxArgv(nginx, dir, addr, backendAddr, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess("nginx", argv, nil, filepath.Join(dir, "out.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(5 * time.Second) })
	if err := waitReady(ctx, p, "http://"+addr+"/", 10*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("%v\n%s", err, log)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("nginx did not return a request id: %v", resp.Header)
	}
	p.stop(5 * time.Second)
	if !p.exited() {
		t.Fatal("nginx still running after stop")
	}
	if out, _ := exec.Command("pgrep", "-g", strconv.Itoa(p.pid())).Output(); len(out) > 0 {
		t.Fatalf("processes left in nginx's group: %s", out)
	}
}
