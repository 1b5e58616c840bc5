package config

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryKey keeps docs/configuration.md in step with the schema:
// every section and key has its row.
func TestDocsListEveryKey(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Skipf("no docs/configuration.md: %v", err)
	}
	doc := string(b)
	var walk func(s *section)
	walk = func(s *section) {
		if (len(s.keys) > 0 || s.stringMap != nil) && !strings.Contains(doc, "["+s.name+"]") {
			t.Errorf("docs/configuration.md does not mention [%s]", s.name)
		}
		for _, k := range s.keys {
			if !strings.Contains(doc, "| `"+k.name+"` |") {
				t.Errorf("docs/configuration.md has no row for %s.%s", s.name, k.name)
			}
		}
		for _, sub := range s.subs {
			walk(sub)
		}
	}
	walk(schema)
	for _, c := range ComputeTypes {
		if !strings.Contains(doc, "`"+c+"`") {
			t.Errorf("docs/configuration.md does not list compute type %s", c)
		}
	}
}
