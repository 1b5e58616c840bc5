package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"python main.py", []string{"python", "main.py"}},
		{"  a \t b\n c  ", []string{"a", "b", "c"}},
		{`a 'b c' "d e"`, []string{"a", "b c", "d e"}},
		{`a'b'"c"d`, []string{"abcd"}},
		{`'' ""`, []string{"", ""}},
		{`a\ b`, []string{"a b"}},
		{`a\\b`, []string{`a\b`}},
		{"a \\\nb", []string{"a", "b"}},
		{`'a\b'`, []string{`a\b`}},
		{`"a\b"`, []string{`a\b`}},
		{`"a\"b\\c\$d"`, []string{`a"b\c$d`}},
		{`echo $HOME && ls | wc`, []string{"echo", "$HOME", "&&", "ls", "|", "wc"}},
		{"", nil},
		{"   ", nil},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if err != nil {
			t.Errorf("SplitCommand(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("SplitCommand(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestSplitCommandErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{`a 'b`, 2, "unterminated single quote"},
		{`a "b\"`, 2, "unterminated double quote"},
		{`abc\`, 3, "the command ends with a lone backslash"},
	}
	for _, tt := range tests {
		_, _, err := splitCommand(tt.in)
		var serr *shellError
		if !errors.As(err, &serr) || serr.Offset != tt.offset || serr.Msg != tt.msg {
			t.Errorf("splitCommand(%q) = %#v, want offset %d %q", tt.in, err, tt.offset, tt.msg)
		}
		if _, err := SplitCommand(tt.in); err == nil || err.Error() != "config.SplitCommand: "+tt.msg {
			t.Errorf("SplitCommand(%q) = %v", tt.in, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"min_replicas", "max_replicas", "cooldown", "replica_concurrency", "response_grace_period"}
	tests := []struct{ in, want string }{
		{"coldown", "cooldown"},
		{"cooldwon", "cooldown"},
		{"min_replica", "min_replicas"},
		{"minreplicas", "min_replicas"},
		{"Cooldown", "cooldown"},
		{"replica_concurency", "replica_concurrency"},
		{"grace_period", ""},
		{"x", ""},
		{"port", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, keys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"My App", "my-app"},
		{"hello_world.v2", "hello-world-v2"},
		{"--x--", "x"},
		{"ok-name", "ok-name"},
		{"Ünïcode", "n-code"},
		{"___", ""},
	}
	for _, tt := range tests {
		if got := SanitizeName(tt.in); got != tt.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.want != "" && !ValidName(SanitizeName(tt.in)) {
			t.Errorf("SanitizeName(%q) is not a ValidName", tt.in)
		}
	}
}
