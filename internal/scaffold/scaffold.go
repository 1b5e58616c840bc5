// Package scaffold creates a new ebb app: the files `ebb init` writes.
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
	"strings"
	"text/template"

	"github.com/ebb-run/ebb/config"
)

//go:embed templates/*.tmpl
var templates embed.FS

// Data fills the templates.
type Data struct {
	// Name is the app name; it must be a config.ValidName.
	Name string
	// Port is the port the app listens on when $PORT is not set; 0 means
	// 8000, Cerebrium's default.
	Port int
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
	{"main.go", "an HTTP server on $PORT with /hello and /ready that drains on SIGTERM"},
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
	files := make([]File, 0, len(fileOrder))
	for _, f := range fileOrder {
		src, err := templates.ReadFile("templates/" + f.name + ".tmpl")
		if err != nil {
			return nil, fmt.Errorf("scaffold.Files: %w", err)
		}
		t, err := template.New(f.name).Option("missingkey=error").Parse(string(src))
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
