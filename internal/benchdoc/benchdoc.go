// Package benchdoc writes docs/benchmarks.md, whose sections belong each
// to the tool that measures them (make bench, make churn): a tool replaces
// its own section and leaves the rest of the file as it is.
package benchdoc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// UpdateSection replaces the section titled title (up to the next "## "
// heading) in the markdown file at path with body, appending it when
// absent, and creating the file when missing. The file is replaced
// atomically.
func UpdateSection(path, title, body string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("benchdoc: read %s: %w", path, err)
	}
	doc := replaceSection(string(old), title, body)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".benchmarks-*.md")
	if err != nil {
		return fmt.Errorf("benchdoc: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(doc); err != nil {
		tmp.Close()
		return fmt.Errorf("benchdoc: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("benchdoc: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("benchdoc: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("benchdoc: write %s: %w", path, err)
	}
	return nil
}

// docHeader starts a new benchmarks document.
const docHeader = "# Benchmarks\n\nMeasured numbers, with the machine they were measured on. Each section is written by the tool it names.\n\n"

// replaceSection returns doc with the section starting at the line title
// replaced by body (which starts with title).
func replaceSection(doc, title, body string) string {
	if doc == "" {
		return docHeader + body
	}
	lines := strings.SplitAfter(doc, "\n")
	start, end := -1, len(lines)
	for i, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if start < 0 {
			if t == title {
				start = i
			}
			continue
		}
		if strings.HasPrefix(t, "## ") || strings.HasPrefix(t, "# ") {
			end = i
			break
		}
	}
	if start < 0 {
		if !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		if !strings.HasSuffix(doc, "\n\n") {
			doc += "\n"
		}
		return doc + body
	}
	if !strings.HasSuffix(body, "\n\n") && end < len(lines) {
		body += "\n"
	}
	return strings.Join(lines[:start], "") + body + strings.Join(lines[end:], "")
}
