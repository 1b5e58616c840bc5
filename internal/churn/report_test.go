package churn

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/probe"
)

func sampleResult() *Result {
	r := &Result{Sent: 1234, Failed: 0, Revision: 2, Migrated: "r3", Replaced: "r7"}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	counts := []int{0, 0, 3, 3, 4, 6, 5, 4, 2, 0, 0, 1}
	for i, n := range counts {
		r.Samples = append(r.Samples, Sample{At: sec(float64(i)), Total: n, Ready: max(0, n-1), Desired: n})
	}
	r.Phases = []Phase{
		{"idle", 0, sec(2)}, {"burst", sec(2), sec(4)}, {"rollout", sec(5), sec(6)}, {"migration", sec(6), sec(7)},
		{"steady", sec(4), sec(8)}, {"idle", sec(8), sec(10)}, {"cold start", sec(10), sec(11)},
	}
	return r
}

func TestWriteSVGIsWellFormedWithEveryPhase(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, sampleResult(), "a <title> & more"); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	var texts []string
	paths := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b.String())
		}
		switch tok := tok.(type) {
		case xml.CharData:
			texts = append(texts, string(tok))
		case xml.StartElement:
			if tok.Name.Local == "path" {
				paths++
			}
		}
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"a <title> & more", "idle", "burst", "steady", "rollout", "migration", "cold start", "replicas", "ready", "desired", "1234 requests, 0 failed"} {
		if !strings.Contains(all, want) {
			t.Errorf("the plot has no text %q (texts: %s)", want, all)
		}
	}
	if paths != 3 {
		t.Errorf("%d series drawn, want 3 (total, ready, desired)", paths)
	}
}

func TestWriteSectionReplacesOnlyItsOwn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.md")
	head := "# Benchmarks\n\n## Proxy overhead\n\nnumbers  \n"
	if err := os.WriteFile(path, []byte(head), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSection(path, SectionTitle+"\n\nfirst\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := head + "\n" + SectionTitle + "\n\nfirst\n"; string(got) != want {
		t.Fatalf("append: got %q, want %q", got, want)
	}
	// A section after ours survives a rewrite untouched.
	tail := "\n## Later\n\nkept\n"
	os.WriteFile(path, append(got, tail...), 0o644)
	if err := WriteSection(path, SectionTitle+"\n\nsecond\n"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if want := head + "\n" + SectionTitle + "\n\nsecond\n" + tail; string(got) != want {
		t.Fatalf("replace: got %q, want %q", got, want)
	}
}

func TestFigureMedianAndMax(t *testing.T) {
	f := Figure{Values: []time.Duration{5, 1, 3, 9}}
	if f.Median() != 4 || f.Max() != 9 {
		t.Errorf("median %d max %d, want 4 and 9", f.Median(), f.Max())
	}
	if (Figure{Values: []time.Duration{7, 2, 4}}).Median() != 4 {
		t.Error("odd median wrong")
	}
	if v := verdict(25*time.Millisecond, 20*time.Millisecond); v != "missed by 5.0 ms" {
		t.Errorf("verdict %q", v)
	}
}

// TestSectionDescribesWhatRan: the section's prose takes the scenario and
// the probe schedule from what Measure runs, and formats every value.
func TestSectionDescribesWhatRan(t *testing.T) {
	cold := ColdStart{Total: 300 * time.Millisecond, Overhead: 25 * time.Millisecond, Detect: 4 * time.Millisecond, Handoff: 21 * time.Millisecond, Split: true}
	so := ScaleOut{ToDesired: 100 * time.Millisecond, ToStarted: 110 * time.Millisecond, ToReady: 400 * time.Millisecond, AppStart: 280 * time.Millisecond, Overhead: 120 * time.Millisecond}
	m := &Measurement{
		Scaling:  config.Scaling{MinReplicas: 0, MaxReplicas: 4, ReplicaConcurrency: 1, RollOutDurationSeconds: 3},
		TOML:     appTOML,
		Churn:    &Result{Sent: 100, ScaleOut: so, ColdStart: cold, Phases: []Phase{{Name: "idle", End: time.Second}}},
		Cycles:   []Cycle{{ColdStart: cold, ScaleOut: so}},
		Scenario: scenario, CycleBurst: 6, CycleBurstSeconds: 2,
	}
	got := m.Section("churn.svg")
	for _, want := range []string{
		"2s idle at zero replicas; a burst of 6 concurrent 3 s `GET /slow`",
		"2 sending `POST /hello`, 2 sending 1.5 s `GET /slow`",
		"stepped over 3 s", "a burst of 6 concurrent 2 s `GET /slow`",
		"probes every " + probe.DefaultBackoff.Initial.String(),
		"The 20 ms target is exceeded in 2 of 2 cold starts",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "%!") {
		t.Errorf("section has a formatting error:\n%s", got)
	}
}
