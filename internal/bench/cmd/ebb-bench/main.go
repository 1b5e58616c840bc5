// Command ebb-bench measures ebb's proxy overhead against a direct
// connection and nginx, and writes the results into docs/benchmarks.md.
// `make bench` runs it. Its subcommands `backend` and `forward` are the
// processes it starts.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ebb-run/ebb/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.Main(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ebb-bench:", err)
		os.Exit(1)
	}
}
