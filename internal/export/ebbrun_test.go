package export

import (
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-run/ebb/internal/supervisor"
	"github.com/ebb-run/ebb/internal/testapps"
)

// TestExportedCommandRunsUnderEbbRun starts the exported container command
// with the real ebb binary and a real app, then sends it SIGTERM as the
// kubelet would: every flag the export writes must be one `ebb run` takes.
func TestExportedCommandRunsUnderEbbRun(t *testing.T) {
	python := testapps.DebianPython
	if _, err := os.Stat(python); err != nil {
		t.Skipf("SKIP: %s is not installed (.ci/deps installs it)", python)
	}
	bin, err := testapps.Build(t.TempDir(), "cmd/ebb")
	if err != nil {
		t.Fatal(err)
	}

	port, err := supervisor.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := base("app")
	cfg.Runtime.Custom.Port = port
	cfg.Runtime.Custom.Entrypoint = []string{python, "-m", "http.server", "$PORT", "--bind", "127.0.0.1"}
	cfg.Scaling.ResponseGracePeriod = 5
	cfg.Deployment.DeploymentInitializationTimeout = 20
	objs, _, err := Kubernetes(cfg, Options{Image: "unused", LameDuck: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := objs[1].(*deployment).Spec.Template.Spec.Containers[0]
	if c.Command[0] != "ebb" || c.Command[1] != "run" {
		t.Fatalf("command %q does not start with ebb run", c.Command)
	}
	// The exported flags as they are, plus two that keep the test on
	// loopback: serve on 127.0.0.1 only and no metrics listener.
	argv := append([]string{"run", "--listen=127.0.0.1:" + strconv.Itoa(port), "--admin="}, c.Command[2:]...)
	argv = append(argv, c.Args...)
	cmd := exec.Command(bin, argv...)
	cmd.Dir = t.TempDir() // no cerebrium.toml: the flags must suffice
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log := &testapps.Output{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	})

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("ebb run exited before serving: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 from %s within 20 s (last error %v)\n%s", url, err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		// The app dies of the SIGTERM ebb run sends it; ebb run exits with
		// the app's code.
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 143) {
			t.Errorf("ebb run exited with %v, want 0 or 143\n%s", err, log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("ebb run still running 15 s after SIGTERM\n%s", log.String())
	}
}
