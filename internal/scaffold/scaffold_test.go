package scaffold

import (
	"bufio"
	"context"
	"errors"
	"go/format"
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
	"github.com/ebb-run/ebb/internal/supervisor"
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
	if diff := cmp.Diff([]string{"cerebrium.toml", "go.mod", "main.go", "Dockerfile"}, names); diff != "" {
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
	if c.Scaling.ResponseGracePeriod != 30 {
		t.Errorf("response_grace_period %d, want 30, graceful's default", c.Scaling.ResponseGracePeriod)
	}
}

func TestMainIsFormatted(t *testing.T) {
	files, err := Files(Data{Name: "my-app", Port: 9000})
	if err != nil {
		t.Fatal(err)
	}
	src := fileNamed(t, files, "main.go").Body
	formatted, err := format.Source(src)
	if err != nil {
		t.Fatalf("main.go does not parse: %v\n%s", err, src)
	}
	if diff := cmp.Diff(string(formatted), string(src)); diff != "" {
		t.Errorf("main.go is not gofmt-formatted (-gofmt +got):\n%s", diff)
	}
	for _, want := range []string{`"github.com/ebb-run/ebb/graceful"`, "graceful.New(graceful.Options{", "g.OnShutdown(", "g.ListenAndServe(ctx, srv)", `port = "9000"`, `mux.HandleFunc("POST /hello", hello)`} {
		if !strings.Contains(string(src), want) {
			t.Errorf("main.go lacks %s", want)
		}
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
	if len(entries) != 4 {
		t.Errorf("directory holds %v, want exactly the four files", entries)
	}
	// A second run refuses, naming all four.
	err = Write(dir, files)
	if !errors.As(err, &ee) || len(ee.Paths) != 4 {
		t.Errorf("second Write = %v, want all four files named", err)
	}

	// An existing go.mod alone is enough to refuse.
	dir = t.TempDir()
	gomod := filepath.Join(dir, "go.mod")
	if err := os.WriteFile(gomod, []byte("module mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Write(dir, files)
	if !errors.As(err, &ee) || !cmp.Equal(ee.Paths, []string{gomod}) {
		t.Errorf("Write over go.mod = %v, want *ExistsError naming %s", err, gomod)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Write wrote files although go.mod exists: %v", entries)
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

func TestGoMod(t *testing.T) {
	for _, tc := range []struct {
		name string
		data Data
		want string
	}{{
		name: "release",
		data: Data{Name: "app", GoVersion: "1.26.8", EbbVersion: "v1.2.0"},
		want: "module app\n\ngo 1.26.8\n\nrequire github.com/ebb-run/ebb v1.2.0\n",
	}, {
		name: "checkout",
		data: Data{Name: "app", GoVersion: "1.26.8", EbbModuleDir: "/src/ebb"},
		want: "module app\n\ngo 1.26.8\n\nrequire github.com/ebb-run/ebb v0.0.0-00010101000000-000000000000\n\n" +
			"// Built against a local checkout of ebb. Remove this line to use the\n" +
			"// published module (a Docker build cannot see the checkout).\n" +
			"replace github.com/ebb-run/ebb => /src/ebb\n",
	}, {
		name: "release and checkout with a space",
		data: Data{Name: "app", GoVersion: "1.27rc1", EbbVersion: "v1.2.0", EbbModuleDir: "/my src/ebb"},
		want: "module app\n\ngo 1.27rc1\n\nrequire github.com/ebb-run/ebb v1.2.0\n\n" +
			"// Built against a local checkout of ebb. Remove this line to use the\n" +
			"// published module (a Docker build cannot see the checkout).\n" +
			"replace github.com/ebb-run/ebb => \"/my src/ebb\"\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Files(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(fileNamed(t, files, "go.mod").Body)); diff != "" {
				t.Errorf("go.mod (-want +got):\n%s", diff)
			}
		})
	}

	// A development build without a checkout requires nothing and says why.
	files, err := Files(Data{Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	mod := string(fileNamed(t, files, "go.mod").Body)
	if !strings.HasPrefix(mod, "module app\n\ngo "+ToolchainVersion()+"\n") || strings.Contains(mod, "\nrequire") ||
		!strings.Contains(mod, "go mod edit -replace github.com/ebb-run/ebb=/path/to/ebb") {
		t.Errorf("go.mod of a development build:\n%s", mod)
	}
	docker := string(fileNamed(t, files, "Dockerfile").Body)
	lang := strings.Join(strings.SplitN(ToolchainVersion(), ".", 3)[:2], ".")
	for _, want := range []string{
		"FROM golang:" + lang + "-bookworm AS build",
		"COPY go.mod go.sum* ./\nRUN go mod download\nCOPY . .\n",
		"go list -m -f '{{.Version}}' github.com/ebb-run/ebb",
	} {
		if !strings.Contains(docker, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, docker)
		}
	}

	if _, err := Files(Data{Name: "app", EbbModuleDir: "src/ebb"}); err == nil {
		t.Error("Files accepted a relative EbbModuleDir")
	}
}

func TestGoDirective(t *testing.T) {
	for in, want := range map[string]string{
		"go1.26.8":                       "1.26.8",
		"go1.27rc1":                      "1.27rc1",
		"go1.26.8 X:nocoverageredesign":  "1.26.8",
		"devel go1.27-abcdef0 Fri Jan 1": "",
		"":                               "",
	} {
		if got := goDirective(in); got != want {
			t.Errorf("goDirective(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"1.26.8": "1.26", "1.27rc1": "1.27", "1.26": "1.26"} {
		if got := (Data{GoVersion: in}).GoImage(); got != want {
			t.Errorf("GoImage of %q = %q, want %q", in, got, want)
		}
	}
}

func TestCheckModuleDir(t *testing.T) {
	root := repoRoot(t)
	got, err := CheckModuleDir(root)
	if err != nil || got != root {
		t.Errorf("CheckModuleDir(%s) = %q, %v", root, got, err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckModuleDir(other); err == nil || !strings.Contains(err.Error(), "module example.com/other, want github.com/ebb-run/ebb") {
		t.Errorf("CheckModuleDir of another module = %v", err)
	}
	if _, err := CheckModuleDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is not a checkout of ebb") {
		t.Errorf("CheckModuleDir of an empty directory = %v", err)
	}
}

// TestScaffoldedAppRunsAndDrains builds the generated app against this
// checkout of ebb, runs it, and stops it with SIGTERM while a request is in
// flight: the request completes and the app exits 0.
func TestScaffoldedAppRunsAndDrains(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	files, err := Files(Data{Name: "demo", EbbModuleDir: repoRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	// Generous: on a small machine the build competes with the other
	// packages' tests.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Offline: graceful needs only the standard library, and the go.mod
	// files of ebb's own requirements are in the module cache.
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local")
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", "server", "."}} {
		c := exec.CommandContext(ctx, goBin, args...)
		c.Dir, c.Env = dir, env
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the scaffolded app: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	port := strconv.Itoa(freePort(t))
	cmd := exec.Command(filepath.Join(dir, "server"))
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT="+port, "EBB_GRACE_PERIOD=10")
	var stderr strings.Builder
	cmd.Stderr = &stderr
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
		case <-time.After(5 * time.Second):
		}
		if t.Failed() {
			t.Logf("app stderr:\n%s", stderr.String())
		}
	})

	addr := "127.0.0.1:" + port
	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body, err := get(client, base+"/ready")
		if err == nil && code == http.StatusOK {
			if body != `{"status":"ready","active_requests":0}` {
				t.Errorf("/ready = %q", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app not ready within 5 s: %d %q %v", code, body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := client.Post(base+"/hello", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != `{"message":"Hello Cerebrium!"}`+"\n" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("POST /hello = %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// A request in flight: /hello has its headers and half its body, and
	// waits for the rest.
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	const payload = `{"name":"ebb"}`
	if _, err := io.WriteString(conn, "POST /hello HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\n"+
		"Content-Length: "+strconv.Itoa(len(payload))+"\r\n\r\n"+payload[:5]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request to be in flight", func() bool {
		_, body, err := get(client, base+"/ready")
		return err == nil && strings.Contains(body, `"active_requests":1`)
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/ready to answer 503", func() bool {
		code, body, err := get(client, base+"/ready")
		return err == nil && code == http.StatusServiceUnavailable && strings.Contains(body, `"status":"draining"`)
	})
	select {
	case err := <-done:
		done <- err
		t.Fatalf("app exited (%v) with a request in flight", err)
	default:
	}

	if _, err := io.WriteString(conn, payload[5:]); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight at SIGTERM: %v", err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != `{"message":"Hello ebb!"}`+"\n" {
		t.Errorf("the request in flight at SIGTERM = %d %q %v", resp.StatusCode, body, err)
	}

	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Errorf("app exited with %v after SIGTERM, want exit status 0", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("app did not exit within 5 s of its last request")
	}
	if !strings.Contains(stderr.String(), "shutdown: releasing resources") {
		t.Errorf("the OnShutdown hook did not run; stderr:\n%s", stderr.String())
	}
}

// get returns the status and trimmed body of a GET.
func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// repoRoot is the root of the ebb checkout holding this package, found
// from the test's working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if root, err := CheckModuleDir(dir); err == nil {
			return root
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no checkout of github.com/ebb-run/ebb above the working directory")
		}
		dir = parent
	}
}

func fileNamed(t *testing.T, files []File, name string) File {
	t.Helper()
	for _, f := range files {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no file %s", name)
	return File{}
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := supervisor.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}
