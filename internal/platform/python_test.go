package platform_test

import (
	"context"
	"testing"
	"time"
)

// TestPythonUvicornZeroFailures runs the seed's FastAPI app on Debian's
// uvicorn, with the seed's SIGTERM handling and without any, through a
// scale-down, rollouts at once and in steps, and a migration, under one
// steady load of short, long and streaming requests: none may fail.
func TestPythonUvicornZeroFailures(t *testing.T) {
	for _, module := range []string{"seed", "plain"} {
		t.Run(module, func(t *testing.T) {
			cfg := pythonConfig("py", module)
			cfg.Scaling.MinReplicas = 3
			r := startPlatform(t, nil, cfg)
			a := r.p.App("py")
			l := startLoad(t, r.url("py", ""), loadMix{hello: 3, slow: 2, stream: 1, long: 2})
			time.Sleep(time.Second)

			if err := a.SetBounds(1, 5); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "one replica left", 15*time.Second, func() bool { return len(r.replicas("py")) == 1 })
			t.Logf("scaled 3 → 1 (%d requests so far, %d failed)", l.sent.Load(), l.failed.Load())

			if err := a.SetBounds(2, 5); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "two ready replicas", 15*time.Second, func() bool { return r.app(t, "py").Ready == 2 })
			for _, d := range []int{0, 2} {
				next := pythonConfig("py", module)
				next.Scaling.RollOutDurationSeconds = d
				if _, err := a.Deploy(context.Background(), next); err != nil {
					t.Fatal(err)
				}
				t.Logf("rolled out with roll_out_duration_seconds %d (%d requests so far, %d failed)", d, l.sent.Load(), l.failed.Load())
			}
			if _, err := a.Migrate(context.Background(), r.replicas("py")[0].ID); err != nil {
				t.Fatal(err)
			}
			t.Logf("migrated (%d requests so far, %d failed)", l.sent.Load(), l.failed.Load())
			time.Sleep(500 * time.Millisecond)
			l.stopAndCheck(t)
		})
	}
}
