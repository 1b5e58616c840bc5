package benchdoc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const title = "## Proxy overhead"

func TestReplaceSection(t *testing.T) {
	body := "## Proxy overhead\n\nnew numbers\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"new file", "", docHeader + body},
		{"appended", "# Benchmarks\n\n## Autoscaling\n\nx\n", "# Benchmarks\n\n## Autoscaling\n\nx\n\n" + body},
		{"replaced in the middle", "# B\n\n## Proxy overhead\n\nold\nold\n\n## Autoscaling\n\nx\n",
			"# B\n\n## Proxy overhead\n\nnew numbers\n\n## Autoscaling\n\nx\n"},
		{"replaced at the end", "# B\n\n## Autoscaling\n\nx\n\n## Proxy overhead\n\nold\n",
			"# B\n\n## Autoscaling\n\nx\n\n" + body},
	} {
		if d := cmp.Diff(tc.want, replaceSection(tc.doc, title, body)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestUpdateSectionWritesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := UpdateSection(path, title, "## Proxy overhead\n\none\n"); err != nil {
		t.Fatal(err)
	}
	if err := UpdateSection(path, title, "## Proxy overhead\n\ntwo\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if got := string(b); got != docHeader+"## Proxy overhead\n\ntwo\n" {
		t.Fatalf("file = %q", got)
	}
}
