package supervisor

import (
	"strings"
	"testing"
)

type recordWriter struct{ writes []string }

func (r *recordWriter) Write(p []byte) (int, error) {
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func TestLineWriter(t *testing.T) {
	var rec recordWriter
	lw := &LineWriter{W: &rec, Prefix: "r1| "}
	for _, s := range []string{"hel", "lo\nwor", "ld\n\nlast"} {
		if n, err := lw.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := []string{"r1| hello\n", "r1| world\n", "r1| \n", "r1| last\n"}
	if strings.Join(rec.writes, "|") != strings.Join(want, "|") {
		t.Fatalf("writes = %q, want %q", rec.writes, want)
	}
	rec.writes = nil
	_, _ = lw.Write([]byte(strings.Repeat("x", maxLine+10)))
	if len(rec.writes) != 1 || !strings.HasSuffix(rec.writes[0], "\n") {
		t.Fatalf("long line: %d writes", len(rec.writes))
	}
}
