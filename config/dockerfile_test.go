package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDockerfileCommand(t *testing.T) {
	shellWarn := func(line int, kind, argv string) string {
		return "Dockerfile:" + strconv.Itoa(line) + ": " + kind + " uses the shell form, so it runs as " + argv +
			"; the shell will not forward SIGTERM to the app unless the command starts with `exec` — write it in exec form (" +
			kind + " [\"prog\", \"arg\"]) or use `ebb run`"
	}
	tests := []struct {
		name string
		src  string
		want DockerCommand
	}{
		{"exec CMD", "FROM python:3.12\nCMD [\"uvicorn\", \"main:app\"]\n",
			DockerCommand{Argv: []string{"uvicorn", "main:app"}, Source: "Dockerfile CMD (Dockerfile:2)"}},
		{"shell CMD", "FROM python:3.12\nCMD uvicorn main:app --port 8000\n",
			DockerCommand{
				Argv:     []string{"/bin/sh", "-c", "uvicorn main:app --port 8000"},
				Source:   "Dockerfile CMD (Dockerfile:2)",
				Warnings: []string{shellWarn(2, "CMD", `["/bin/sh", "-c", "uvicorn main:app --port 8000"]`)},
			}},
		{"shell CMD with exec", "FROM x\nCMD exec ./server --flag\n",
			DockerCommand{Argv: []string{"/bin/sh", "-c", "exec ./server --flag"}, Source: "Dockerfile CMD (Dockerfile:2)"}},
		{"last CMD wins", "FROM x\nCMD [\"a\"]\nCMD [\"b\"]\n",
			DockerCommand{Argv: []string{"b"}, Source: "Dockerfile CMD (Dockerfile:3)"}},
		{"ENTRYPOINT and CMD", "FROM x\nENTRYPOINT [\"ebb\", \"run\", \"--\"]\nCMD [\"/app/server\"]\n",
			DockerCommand{Argv: []string{"ebb", "run", "--", "/app/server"}, Source: "Dockerfile ENTRYPOINT (Dockerfile:2) + CMD (Dockerfile:3)"}},
		{"ENTRYPOINT exec, CMD shell", "FROM x\nENTRYPOINT [\"tini\", \"--\"]\nCMD ./server -v\n",
			DockerCommand{Argv: []string{"tini", "--", "/bin/sh", "-c", "./server -v"}, Source: "Dockerfile ENTRYPOINT (Dockerfile:2) + CMD (Dockerfile:3)"}},
		{"ENTRYPOINT shell ignores CMD", "FROM x\nENTRYPOINT ./server\nCMD [\"--flag\"]\n",
			DockerCommand{
				Argv:   []string{"/bin/sh", "-c", "./server"},
				Source: "Dockerfile ENTRYPOINT (Dockerfile:2)",
				Warnings: []string{shellWarn(2, "ENTRYPOINT", `["/bin/sh", "-c", "./server"]`) +
					"; CMD (Dockerfile:3) is ignored after a shell-form ENTRYPOINT"},
			}},
		{"ENTRYPOINT only", "FROM x\nENTRYPOINT [\"./server\"]\n",
			DockerCommand{Argv: []string{"./server"}, Source: "Dockerfile ENTRYPOINT (Dockerfile:2)"}},
		{"continuation lines", "FROM x\nCMD [\"uvicorn\", \\\n     \"main:app\", \\\n# a comment inside\n\n     \"--port\", \"8000\"]\n",
			DockerCommand{Argv: []string{"uvicorn", "main:app", "--port", "8000"}, Source: "Dockerfile CMD (Dockerfile:2)"}},
		{"continuation with trailing blanks", "FROM x\nCMD exec ./server \\  \n  --flag\n",
			DockerCommand{Argv: []string{"/bin/sh", "-c", "exec ./server   --flag"}, Source: "Dockerfile CMD (Dockerfile:2)"}},
		{"escape directive", "# escape=`\nFROM x\nCMD [\"a\", `\n  \"C:\\\\b\"]\n",
			DockerCommand{Argv: []string{"a", `C:\b`}, Source: "Dockerfile CMD (Dockerfile:3)"}},
		{"invalid JSON is shell form", "FROM x\nCMD [\"a\", 'b']\n",
			DockerCommand{
				Argv:     []string{"/bin/sh", "-c", `["a", 'b']`},
				Source:   "Dockerfile CMD (Dockerfile:2)",
				Warnings: []string{shellWarn(2, "CMD", `["/bin/sh", "-c", "[\"a\", 'b']"]`)},
			}},
		{"SHELL changes the shell form", "FROM x\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nCMD exec ./server\n",
			DockerCommand{Argv: []string{"/bin/bash", "-o", "pipefail", "-c", "exec ./server"}, Source: "Dockerfile CMD (Dockerfile:3)"}},
		{"lowercase instructions", "from x\ncmd [\"./s\"]\n",
			DockerCommand{Argv: []string{"./s"}, Source: "Dockerfile CMD (Dockerfile:2)"}},
		{"multi-stage uses the final stage", "FROM golang AS build\nCMD [\"go\", \"build\"]\nFROM debian\nCOPY --from=build /s /s\nCMD [\"/s\"]\n",
			DockerCommand{Argv: []string{"/s"}, Source: "Dockerfile CMD (Dockerfile:5)"}},
		{"final stage from an external image sets nothing", "FROM golang AS build\nCMD [\"go\"]\nFROM debian\n",
			DockerCommand{}},
		{"final stage inherits from an earlier stage", "FROM debian AS base\nCMD [\"/s\"]\nFROM base\nRUN true\n",
			DockerCommand{Argv: []string{"/s"}, Source: "Dockerfile CMD (Dockerfile:2)"}},
		{"ENTRYPOINT resets an inherited CMD", "FROM debian AS base\nCMD [\"/s\"]\nFROM BASE\nENTRYPOINT [\"/e\"]\n",
			DockerCommand{Argv: []string{"/e"}, Source: "Dockerfile ENTRYPOINT (Dockerfile:4)"}},
		{"heredoc body is not an instruction", "FROM x\nRUN <<EOF\nCMD [\"not\", \"this\"]\nEOF\nCMD [\"this\"]\n",
			DockerCommand{Argv: []string{"this"}, Source: "Dockerfile CMD (Dockerfile:5)"}},
		{"comments and blank lines", "# syntax=docker/dockerfile:1\n\nFROM x\n  # CMD [\"no\"]\nCMD [\"yes\"]\n",
			DockerCommand{Argv: []string{"yes"}, Source: "Dockerfile CMD (Dockerfile:5)"}},
		{"CRLF", "FROM x\r\nCMD [\"a\",\\\r\n \"b\"]\r\n",
			DockerCommand{Argv: []string{"a", "b"}, Source: "Dockerfile CMD (Dockerfile:2)"}},
		{"empty exec form", "FROM x\nCMD []\n",
			DockerCommand{Argv: []string{}, Source: "Dockerfile CMD (Dockerfile:2)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DockerfileCommand("Dockerfile", []byte(tt.src))
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("DockerfileCommand mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadTakesEntrypointFromDockerfile(t *testing.T) {
	const toml = "[cerebrium.deployment]\nname = \"d\"\n"
	t.Run("beside the config", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"cerebrium.toml": toml,
			"Dockerfile":     "FROM x\nCMD ./server\n",
		})
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"/bin/sh", "-c", "./server"}, c.Runtime.Custom.Entrypoint); diff != "" {
			t.Errorf("entrypoint (-want +got):\n%s", diff)
		}
		df := filepath.Join(dir, "Dockerfile")
		if c.Runtime.Custom.EntrypointSource != "Dockerfile CMD ("+df+":2)" {
			t.Errorf("EntrypointSource = %q", c.Runtime.Custom.EntrypointSource)
		}
		if len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], df+":2: CMD uses the shell form") ||
			!strings.Contains(c.Warnings[0], "SIGTERM") || !strings.Contains(c.Warnings[0], "ebb run") {
			t.Errorf("Warnings = %q, want one naming %s:2, SIGTERM and ebb run", c.Warnings, df)
		}
	})
	t.Run("dockerfile_path", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"cerebrium.toml":        toml + "[cerebrium.runtime.custom]\ndockerfile_path = \"docker/App.Dockerfile\"\n",
			"docker/App.Dockerfile": "FROM x\nENTRYPOINT [\"/app\"]\nCMD [\"--v\"]\n",
			"Dockerfile":            "FROM x\nCMD [\"not-this\"]\n",
		})
		c, err := Load(filepath.Join(dir, "cerebrium.toml"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"/app", "--v"}, c.Runtime.Custom.Entrypoint); diff != "" {
			t.Errorf("entrypoint (-want +got):\n%s", diff)
		}
		if len(c.Warnings) != 0 {
			t.Errorf("Warnings = %q, want none", c.Warnings)
		}
	})
	t.Run("entrypoint wins", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"cerebrium.toml": toml + "[cerebrium.runtime.custom]\nentrypoint = \"./mine\"\n",
			"Dockerfile":     "FROM x\nCMD ./server\n",
		})
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"./mine"}, c.Runtime.Custom.Entrypoint); diff != "" || c.Runtime.Custom.EntrypointSource != "entrypoint" || len(c.Warnings) > 0 {
			t.Errorf("entrypoint %q from %q, warnings %q", c.Runtime.Custom.Entrypoint, c.Runtime.Custom.EntrypointSource, c.Warnings)
		}
	})
	t.Run("missing dockerfile_path", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"cerebrium.toml": toml + "[cerebrium.runtime.custom]\ndockerfile_path = \"nope/Dockerfile\"\n",
		})
		p := filepath.Join(dir, "cerebrium.toml")
		_, err := Load(p)
		want := p + ":4:19: cerebrium.runtime.custom.dockerfile_path: cannot read the Dockerfile: open " +
			filepath.Join(dir, "nope/Dockerfile") + ": no such file or directory"
		if err == nil || err.Error() != want {
			t.Errorf("Load = %v\nwant %s", err, want)
		}
	})
	t.Run("no command", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"cerebrium.toml": toml,
			"Dockerfile":     "FROM python:3.12\nRUN pip install x\n",
		})
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Runtime.Custom.Entrypoint) != 0 || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "sets no CMD or ENTRYPOINT") {
			t.Errorf("entrypoint %q, warnings %q", c.Runtime.Custom.Entrypoint, c.Warnings)
		}
	})
	t.Run("no Dockerfile", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"cerebrium.toml": toml})
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Runtime.Custom.Entrypoint) != 0 || c.Runtime.Custom.EntrypointSource != "" || len(c.Warnings) != 0 {
			t.Errorf("entrypoint %q from %q, warnings %q", c.Runtime.Custom.Entrypoint, c.Runtime.Custom.EntrypointSource, c.Warnings)
		}
	})
}
