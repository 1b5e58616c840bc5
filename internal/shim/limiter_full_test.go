package shim

import (
	"context"
	"testing"

	"github.com/ebb-run/ebb/internal/limiter"
)

// newFullLimiter returns a limiter of one slot, taken, and no queue.
func newFullLimiter(t *testing.T) *limiter.Limiter {
	t.Helper()
	l := limiter.New(1, 0)
	if err := l.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Release)
	return l
}
