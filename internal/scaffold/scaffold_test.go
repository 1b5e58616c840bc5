package scaffold

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-run/ebb/config"
)

func TestFilesLoadAsConfig(t *testing.T) {
	files, err := Files(Data{Name: "my-app"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if diff := cmp.Diff([]string{"cerebrium.toml", "main.go", "Dockerfile"}, names); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	dir := filepath.Join(t.TempDir(), "my-app")
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(dir)
	if err != nil {
		t.Fatalf("the scaffolded cerebrium.toml does not load: %v", err)
	}
	if c.Deployment.Name != "my-app" || c.Runtime.Custom.Port != 8000 || c.Runtime.Custom.ReadycheckEndpoint != "/ready" {
		t.Errorf("config: name %q port %d readycheck %q", c.Deployment.Name, c.Runtime.Custom.Port, c.Runtime.Custom.ReadycheckEndpoint)
	}
	if diff := cmp.Diff([]string{"ebb", "run", "--", "/app/server"}, c.Runtime.Custom.Entrypoint); diff != "" {
		t.Errorf("entrypoint from the Dockerfile (-want +got):\n%s", diff)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	if c.Scaling.ResponseGracePeriod <= 25 {
		t.Errorf("response_grace_period %d must exceed main.go's drainTimeout of 25 s", c.Scaling.ResponseGracePeriod)
	}
}

func TestFilesRejectsBadName(t *testing.T) {
	if _, err := Files(Data{Name: "My App"}); err == nil {
		t.Error("Files accepted an invalid name")
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	files, err := Files(Data{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	existing := filepath.Join(dir, "main.go")
	if err := os.WriteFile(existing, []byte("package main // mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Write(dir, files)
	var ee *ExistsError
	if !errors.As(err, &ee) || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Write = %v, want *ExistsError", err)
	}
	if diff := cmp.Diff([]string{existing}, ee.Paths); diff != "" {
		t.Errorf("ExistsError.Paths (-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("Write wrote files although it refused: %v", entries)
	}
	if b, _ := os.ReadFile(existing); string(b) != "package main // mine\n" {
		t.Errorf("existing file changed: %q", b)
	}

	// Writing into a clean directory leaves no temporary files.
	dir = t.TempDir()
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("directory holds %v, want exactly the three files", entries)
	}
	// A second run refuses, naming all three.
	err = Write(dir, files)
	if !errors.As(err, &ee) || len(ee.Paths) != 3 {
		t.Errorf("second Write = %v, want all three files named", err)
	}
}

func TestWriteNewNeverReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := writeNew(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	err := writeNew(p, []byte("two"))
	var ee *ExistsError
	if !errors.As(err, &ee) {
		t.Errorf("writeNew over an existing file = %v, want *ExistsError", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("file = %q, want the first content", b)
	}
}

// TestScaffoldedAppRunsAndDrains builds the generated main.go, runs it, and
// stops it with SIGTERM.
func TestScaffoldedAppRunsAndDrains(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	files, err := Files(Data{Name: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module demo\n\ngo 1.24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goBin, "build", "-o", "server", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the scaffolded app: %v\n%s", err, out)
	}

	port := freePort(t)
	cmd := exec.Command(filepath.Join(dir, "server"))
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	})

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("app not ready within 30 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := client.Get(base + "/hello?name=ebb")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "hello, ebb" {
		t.Errorf("/hello = %d %q", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Errorf("app exited with %v after SIGTERM, want a clean exit", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("app did not exit within 20 s of SIGTERM")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
