package check

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestNotReady checks that an app that exits before it is ready gives an
// error wrapping ErrNotReady, with its last output.
func TestNotReady(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Options{Argv: []string{"sh", "-c", "echo boom on $PORT; exit 3"}, Grace: time.Second})
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "exited with 3") || !strings.Contains(err.Error(), "boom on") {
		t.Fatalf("err = %v; want ErrNotReady, the exit status and the app's output", err)
	}
}

// TestBadBaseline checks that a normal request the app does not serve is
// reported before any SIGTERM.
func TestBadBaseline(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Options{Argv: []string{fixtureBin(t, "hello")}, Path: "/nope", Grace: time.Second})
	if err == nil || !strings.Contains(err.Error(), "baseline GET /nope: status 404") {
		t.Fatalf("err = %v; want the baseline failure naming the 404", err)
	}
}

// TestInterrupted checks that cancelling a check kills the app and says so.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	bin := fixtureBin(t, "ignore")
	go func() {
		_, err := Run(ctx, Options{Argv: []string{bin}, ReadyPath: "/ready", Grace: time.Minute})
		errc <- err
	}()
	time.Sleep(2 * time.Second) // ready, baseline and SIGTERM take under a second
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{},
		{Argv: []string{"x"}},
		{Argv: []string{"x"}, Grace: time.Second, Path: "hello"},
		{Argv: []string{"x"}, Grace: time.Second, InFlight: -1},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v): no error", o)
		}
	}
}
