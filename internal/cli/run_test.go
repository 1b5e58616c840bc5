package cli

import (
	"io"
	"testing"
	"time"
)

func TestSecondsFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30": 30 * time.Second, "0.5": 500 * time.Millisecond, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond,
	} {
		var s seconds
		if err := s.Set(in); err != nil || time.Duration(s) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(s), err, want)
		}
	}
	var s seconds
	if err := s.Set("soon"); err == nil {
		t.Error(`Set("soon") succeeded`)
	}
}

func TestRunWithoutCommand(t *testing.T) {
	t.Chdir(t.TempDir()) // no cerebrium.toml: defaults, no entrypoint
	code := run([]string{"run", "--admin", ""}, io.Discard, io.Discard)
	if code != 2 {
		t.Errorf("ebb run without a command: exit %d, want 2", code)
	}
}
