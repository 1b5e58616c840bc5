package shim_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var closedRE = regexp.MustCompile(`msg="closed connections without a request".* count=(\d+)`)

// TestExitsPromptlyWithQuietConnections: connections that carry no request
// — one accepted but never written to (as load balancers and probes open
// them), one idle after a keep-alive request, on the shim's listener and
// on the admin one — do not hold up the exit once the drain is over.
func TestExitsPromptlyWithQuietConnections(t *testing.T) {
	e := startEbb(t, "--grace", "10", "--ready-path", "/ready", "--", appServerBin, "-on-sigterm", "graceful")
	e.waitReady("/ready", 10*time.Second)

	dial := func(addr string) net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// keepAlive answers one request on a new connection and leaves the
	// connection open and idle.
	keepAlive := func(addr, path string) net.Conn {
		t.Helper()
		c := dial(addr)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("GET %s: %d close=%v %v, want 200 on a kept-alive connection", path, resp.StatusCode, resp.Close, err)
		}
		_ = c.SetDeadline(time.Time{})
		return c
	}
	quiet := []net.Conn{
		dial(e.addr),
		keepAlive(e.addr, "/"),
		dial(e.admin),
		keepAlive(e.admin, "/metrics"),
	}
	// Let the shim accept the silent ones before the drain starts.
	time.Sleep(50 * time.Millisecond)

	termAt := e.sigterm()
	e.wait(5 * time.Second)
	took := e.exitAt.Sub(termAt)
	t.Logf("exited %v after SIGTERM with %d quiet connections open", took.Round(time.Millisecond), len(quiet))
	// Well short of the 5 s a server's Shutdown would wait on them.
	if took > 2*time.Second {
		t.Errorf("exited %v after SIGTERM, want at once (no waiting on connections without a request)", took)
	}
	if e.code != 0 {
		t.Errorf("exit code %d, want 0", e.code)
	}
	// The idle one on the shim's listener is closed when the drain ends
	// keep-alive; the other three by the shim once the drain is over.
	if m := closedRE.FindStringSubmatch(e.out.String()); m == nil {
		t.Errorf("no log of the shim closing the quiet connections")
	} else if n, _ := strconv.Atoi(m[1]); n < 3 {
		t.Errorf("the shim closed %d quiet connections after the drain, want at least 3", n)
	}
	for i, c := range quiet {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("quiet connection %d: read %d bytes after the exit, want it closed", i, n)
		}
	}
	e.assertGroupGone()
}
