// Package scaffold creates a new ebb app: the files `ebb init` writes.
//
// The app is a Go module that imports github.com/ebb-run/ebb/graceful; its
// go.mod requires the ebb version given in Data, or replaces the module with
// a local checkout of ebb.
//
// The files come from templates embedded in the binary
// (templates/*.tmpl). Write never overwrites anything: it checks every target
// before writing any, writes each file atomically, and removes what it wrote
// if a later file fails.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/template"

	"github.com/ebb-run/ebb/config"
)

//go:embed templates/*.tmpl
var templates embed.FS

// ModulePath is the module path of ebb, which the app requires.
const ModulePath = "github.com/ebb-run/ebb"

// unknownVersion is the version required of a module that is replaced by a
// directory and has no published version (what the go command writes itself).
const unknownVersion = "v0.0.0-00010101000000-000000000000"

// Data fills the templates.
type Data struct {
	// Name is the app name; it must be a config.ValidName. It is also the
	// app's module path.
	Name string
	// Port is the port the app listens on when $PORT is not set; 0 means
	// 8000, Cerebrium's default.
	Port int
	// GoVersion is the go directive of the app's go.mod, such as "1.26.8".
	// Empty means the version of the Go toolchain running Files.
	GoVersion string
	// EbbVersion is the version of ModulePath that go.mod requires, such as
	// "v1.2.0". Empty means none is known: with EbbModuleDir the go.mod
	// requires a placeholder version; without it, it requires nothing and
	// `go mod tidy` adds the latest published version.
	EbbVersion string
	// EbbModuleDir, when set, is an absolute path to a checkout of ebb that
	// go.mod's replace directive points ModulePath at.
	EbbModuleDir string
}

// GoImage is the tag of the golang Docker image for GoVersion:
// its language version, such as "1.26".
func (d Data) GoImage() string {
	parts := strings.SplitN(d.GoVersion, ".", 3)
	if len(parts) < 2 {
		return d.GoVersion
	}
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	return parts[0] + "." + minor
}

// ToolchainVersion is the go directive matching the running toolchain:
// runtime.Version without the "go" prefix ("1.26.8"), or "" when the
// toolchain is a development build whose version is not a release.
func ToolchainVersion() string {
	return goDirective(runtime.Version())
}

// goDirective turns a runtime.Version such as "go1.26.8" or
// "go1.27rc1 X:nocoverageredesign" into a go directive, or "" when it is
// not a release version.
func goDirective(v string) string {
	v, _, _ = strings.Cut(v, " ")
	v, ok := strings.CutPrefix(v, "go")
	if !ok || v == "" || (v[0] < '1' || v[0] > '9') {
		return ""
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r == '.' || r >= 'a' && r <= 'z') {
			return ""
		}
	}
	return v
}

// File is one file of a new app.
type File struct {
	// Name is the file name, relative to the app directory.
	Name string
	// About says what the file is, for the listing `ebb init` prints.
	About string
	Body  []byte
}

// fileOrder fixes which templates exist and the order they are listed in.
var fileOrder = []struct{ name, about string }{
	{config.FileName, "the app's configuration (Cerebrium-compatible)"},
	{"go.mod", "the app's Go module; it requires " + ModulePath},
	{"main.go", "an HTTP app on $PORT built on package graceful: POST /hello, /ready, drains on SIGTERM"},
	{"Dockerfile", "builds the app and runs it under `ebb run`"},
}

// Files renders the files of a new app.
func Files(d Data) ([]File, error) {
	if !config.ValidName(d.Name) {
		return nil, fmt.Errorf("scaffold.Files: %q is not a valid app name (lowercase letters, digits and dashes)", d.Name)
	}
	if d.Port == 0 {
		d.Port = 8000
	}
	if d.GoVersion == "" {
		d.GoVersion = ToolchainVersion()
	}
	if d.GoVersion == "" {
		return nil, fmt.Errorf("scaffold.Files: the Go toolchain %s has no release version for go.mod; set Data.GoVersion", runtime.Version())
	}
	if d.EbbModuleDir != "" {
		if !filepath.IsAbs(d.EbbModuleDir) {
			return nil, fmt.Errorf("scaffold.Files: EbbModuleDir %q must be an absolute path", d.EbbModuleDir)
		}
		if d.EbbVersion == "" {
			d.EbbVersion = unknownVersion
		}
	}
	files := make([]File, 0, len(fileOrder))
	for _, f := range fileOrder {
		src, err := templates.ReadFile("templates/" + f.name + ".tmpl")
		if err != nil {
			return nil, fmt.Errorf("scaffold.Files: %w", err)
		}
		t, err := template.New(f.name).Option("missingkey=error").Funcs(funcs).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("scaffold.Files: %s: %w", f.name, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, d); err != nil {
			return nil, fmt.Errorf("scaffold.Files: %s: %w", f.name, err)
		}
		files = append(files, File{Name: f.name, About: f.about, Body: buf.Bytes()})
	}
	return files, nil
}

var funcs = template.FuncMap{"modpath": modFilePath}

// modFilePath writes a path for go.mod, quoted when it holds characters
// that go.mod's syntax does not allow bare.
func modFilePath(p string) string {
	if p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+~:@") == "" {
		return p
	}
	return strconv.Quote(p)
}

// CheckModuleDir checks that dir is the root of a checkout of ebb — it
// holds a go.mod declaring ModulePath — and returns its absolute path.
func CheckModuleDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("scaffold.CheckModuleDir: %w", err)
	}
	gomod := filepath.Join(abs, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("%s is not a checkout of ebb: %w", dir, err)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			if p := strings.Trim(f[1], "\"`"); p != ModulePath {
				return "", fmt.Errorf("%s: module %s, want %s (the root of a checkout of ebb)", gomod, p, ModulePath)
			}
			return abs, nil
		}
	}
	return "", fmt.Errorf("%s: no module line, want module %s", gomod, ModulePath)
}

// ExistsError is returned by Write when some target files already exist;
// nothing was written.
type ExistsError struct {
	// Paths are the files that exist, in the order of the files given.
	Paths []string
}

func (e *ExistsError) Error() string {
	return "refusing to overwrite existing files: " + strings.Join(e.Paths, ", ")
}

// Is makes errors.Is(err, fs.ErrExist) true.
func (e *ExistsError) Is(target error) bool { return target == fs.ErrExist }

// Write creates dir if needed and writes files into it, without overwriting
// anything: when any target exists it writes nothing and returns an
// *ExistsError. Each file appears whole or not at all (written to a
// temporary file, then linked into place); if one fails, those already
// written are removed.
func Write(dir string, files []File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("scaffold.Write: %w", err)
	}
	var exists []string
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if _, err := os.Lstat(p); err == nil {
			exists = append(exists, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("scaffold.Write: %w", err)
		}
	}
	if len(exists) > 0 {
		return &ExistsError{Paths: exists}
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := writeNew(p, f.Body); err != nil {
			for _, w := range written {
				_ = os.Remove(w)
			}
			var ee *ExistsError
			if errors.As(err, &ee) {
				return err
			}
			return fmt.Errorf("scaffold.Write: %w", err)
		}
		written = append(written, p)
	}
	return nil
}

// writeNew writes body to path atomically, failing if path exists.
func writeNew(path string, body []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		// The temporary name goes away whatever happens; on success the
		// content lives on under path.
		if rerr := os.Remove(tmp.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = rerr
		}
	}()
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	// A hard link never replaces an existing file, unlike rename.
	err = os.Link(tmp.Name(), path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return &ExistsError{Paths: []string{path}}
	}
	// The file system has no hard links: check, then rename.
	if _, serr := os.Lstat(path); serr == nil {
		return &ExistsError{Paths: []string{path}}
	}
	return os.Rename(tmp.Name(), path)
}
