package limiter_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebb-run/ebb/internal/limiter"
)

func Example() {
	l := limiter.New(1, 1) // one request at a time, one more may wait

	release, err := l.Reserve(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("in flight:", l.InFlight())

	// A router picking a replica asks without waiting.
	if _, ok := l.TryReserve(); !ok {
		fmt.Println("busy: try another replica")
	}

	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error)
	go func() {
		r, err := l.Reserve(ctx) // queues behind the first
		if err == nil {
			r()
		}
		waiting <- err
	}()
	for l.Queued() == 0 {
	}
	if _, err := l.Reserve(context.Background()); errors.Is(err, limiter.ErrQueueFull) {
		fmt.Println("queue full: 503 with Retry-After")
	}
	release()
	fmt.Println("queued request:", <-waiting)
	cancel()
	// Output:
	// in flight: 1
	// busy: try another replica
	// queue full: 503 with Retry-After
	// queued request: <nil>
}
