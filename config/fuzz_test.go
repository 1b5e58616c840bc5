package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// FuzzParse: no input makes Parse panic, and every problem is rendered with
// the file name and a sane position.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/seed/cerebrium.toml", "testdata/full/cerebrium.toml", "testdata/gpu/cerebrium.toml", "../examples/hello/cerebrium.toml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "[cerebrium", "a = [[1], [], {x = 1}]\n[[cerebrium.scaling]]\n",
		"[cerebrium.deployment]\nname = \"x\"\n[cerebrium.runtime.custom]\nentrypoint = \"a 'b\"\n",
		"cerebrium.hardware.compute = [\"CPU\", [\"ADA_L4\"]]\n",
		"[a]\nb.c = 1\n[a.b]\n", "x = {a = 1}\n[x.b]\n", "[[a]]\n[a]\n",
	} {
		f.Add([]byte(s))
	}
	const name = "fuzz/cerebrium.toml"
	f.Fuzz(func(t *testing.T, data []byte) {
		// Valid TOML is never rejected as TOML: the tree builder agrees
		// with the reference decoder.
		var m map[string]any
		if toml.Unmarshal(data, &m) == nil {
			if d, ok := parseDocument(name, bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))); !ok || len(d.errs) > 0 {
				t.Fatalf("valid TOML %q rejected: %v", data, d.errs)
			}
		}
		c, err := Parse(name, data)
		if err == nil {
			if c == nil || len(c.Hardware.Compute) == 0 || c.Deployment.Name == "" {
				t.Fatalf("Parse accepted %q with an incomplete config: %+v", data, c)
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("Parse error is not a non-empty Errors: %T %v", err, err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range es {
			if !strings.HasPrefix(e.Error(), name+":") {
				t.Fatalf("error does not start with the file name: %q", e.Error())
			}
			if e.Line < 0 || e.Line > lines || e.Col < 0 || (e.Line > 0) != (e.Col > 0) {
				t.Fatalf("error %q has position %d:%d in a %d-line file", e.Error(), e.Line, e.Col, lines)
			}
			// Only a missing name in a file without [cerebrium.deployment]
			// has no place to point at.
			if e.Line == 0 && e.Field != "cerebrium.deployment.name" {
				t.Fatalf("error without a position: %q", e.Error())
			}
			if e.Message == "" {
				t.Fatalf("error without a message: %#v", e)
			}
		}
	})
}

// TestFuzzCorpusFilesLoad keeps the seed corpus honest: the files it starts
// from exist.
func TestFuzzCorpusFilesLoad(t *testing.T) {
	for _, p := range []string{"testdata/seed", "testdata/full", "testdata/gpu"} {
		if _, err := os.Stat(filepath.Join(p, FileName)); err != nil {
			t.Error(err)
		}
	}
}
