// Command hello is the seed's graceful-termination app in Go: it serves a
// few endpoints and, on SIGTERM, drains with package graceful so that no
// request is dropped.
//
// Endpoints:
//
//	POST /hello            {"message":"Hello Cerebrium!"}
//	GET  /ready            readiness (answered by graceful)
//	GET  /slow?seconds=N   sleeps N seconds (honouring cancellation), then answers
//	GET  /stream?seconds=N server-sent events, one a second, for N seconds
//	GET  /ws               WebSocket echo
//	GET  /stats            {"in_flight":N,"max_in_flight":M,"served":K,"queued":Q,"pid":P}
//
// /stats counts the requests the app processed: /ready and /stats
// themselves, and requests graceful refused, are not counted.
//
// Environment: PORT (default 8000), HOST (default all interfaces), EBB_GRACE_PERIOD (seconds, read by
// graceful), HELLO_MAX_CONCURRENCY and HELLO_QUEUE_SIZE (app-side
// concurrency cap and queue, default none), HELLO_LAME_DUCK and
// HELLO_STARTUP_DELAY (durations such as "500ms" or seconds such as "0.5";
// default 0).
package main

import (
	"context"
	"log/slog"
	"os"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), os.Getenv, log); err != nil {
		log.Error("hello: exiting", "error", err)
		os.Exit(1)
	}
}
