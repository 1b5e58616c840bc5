package supervisor

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrepareCommand(t *testing.T) {
	tests := []struct {
		name      string
		argv      []string
		want      []string
		wantNotes int
	}{
		{"uvicorn", []string{"uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"},
			[]string{"uvicorn", "main:app", "--host", "0.0.0.0", "--port", "41000"}, 1},
		{"equals", []string{"app", "--port=8000"}, []string{"app", "--port=41000"}, 1},
		{"short", []string{"app", "-p", "8000"}, []string{"app", "-p", "41000"}, 1},
		{"gunicorn bind", []string{"gunicorn", "-b", "0.0.0.0:8000", "app:app"},
			[]string{"gunicorn", "-b", "0.0.0.0:41000", "app:app"}, 1},
		{"bare colon", []string{"srv", "-addr", ":8000"}, []string{"srv", "-addr", ":41000"}, 1},
		{"localhost", []string{"srv", "--listen=localhost:8000"}, []string{"srv", "--listen=localhost:41000"}, 1},
		{"ipv6", []string{"srv", "[::]:8000"}, []string{"srv", "[::]:41000"}, 1},
		{"shell script", []string{"sh", "-c", "cd /app && uvicorn main:app --port 8000 --host 0.0.0.0"},
			[]string{"sh", "-c", "cd /app && uvicorn main:app --port 41000 --host 0.0.0.0"}, 1},
		{"env expansion", []string{"srv", "--port", "$PORT", "--addr=:${PORT}"},
			[]string{"srv", "--port", "41000", "--addr=:41000"}, 2},
		{"other numbers untouched", []string{"srv", "--workers", "8000", "--port", "80001", "x:8000", "18000"},
			[]string{"srv", "--workers", "8000", "--port", "80001", "x:8000", "18000"}, 0},
		{"other host untouched", []string{"srv", "--upstream", "10.0.0.1:8000"},
			[]string{"srv", "--upstream", "10.0.0.1:8000"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := append([]string(nil), tt.argv...)
			got, notes := PrepareCommand(tt.argv, 8000, 41000)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
			if len(notes) != tt.wantNotes {
				t.Errorf("notes = %q, want %d", notes, tt.wantNotes)
			}
			if diff := cmp.Diff(orig, tt.argv); diff != "" {
				t.Errorf("input modified (-orig +now):\n%s", diff)
			}
		})
	}
	if got, notes := PrepareCommand([]string{"srv", "--port", "8000"}, 0, 41000); notes != nil || got[2] != "8000" {
		t.Errorf("configured port 0: got %q, notes %q; want no rewrite", got, notes)
	}
}
