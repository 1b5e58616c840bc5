package platform

import (
	"testing"
)

func TestLookup(t *testing.T) {
	a := testApp(t, 1, 1, "", "127.0.0.1:1")
	p := a.p
	tests := []struct {
		path, app, rest string
	}{
		{"/app/hello", "app", "/hello"},
		{"/app", "app", "/"},
		{"/app/", "app", "/"},
		{"/app/a/b?c", "app", "/a/b?c"},
		{"/v4/p-123/app/predict", "app", "/predict"},
		{"/v4/p-123/app", "app", "/"},
		{"/v4/p-123/nope/x", "", ""},
		{"/nope/x", "", ""},
		{"/", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		got, rest := p.lookup(tt.path)
		name := ""
		if got != nil {
			name = got.name
		} else {
			rest = ""
		}
		if name != tt.app || rest != tt.rest {
			t.Errorf("lookup(%q) = %q, %q; want %q, %q", tt.path, name, rest, tt.app, tt.rest)
		}
	}
	if n := testing.AllocsPerRun(100, func() { p.lookup("/v4/p-123/app/predict") }); n != 0 {
		t.Errorf("lookup allocates %v times per call", n)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{Min: 100, Max: 1000}
	for n, want := range map[int]int64{0: 0, 1: 100, 2: 200, 3: 400, 4: 800, 5: 1000, 50: 1000} {
		if got := b.delay(n); int64(got) != want {
			t.Errorf("delay(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestLogRing(t *testing.T) {
	r := newLogRing(3)
	for i, rep := range []string{"r1", "r2", "r1", "r2", "r1"} {
		r.add(LogLine{Replica: rep, Text: string(rune('a' + i))})
	}
	var got string
	for _, l := range r.tail(10, "") {
		got += l.Text
	}
	if got != "cde" {
		t.Errorf("tail = %q, want the last 3 lines cde", got)
	}
	got = ""
	for _, l := range r.tail(10, "r1") {
		got += l.Text
	}
	if got != "ce" {
		t.Errorf("tail(r1) = %q, want ce", got)
	}
}
