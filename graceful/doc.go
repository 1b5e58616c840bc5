// Package graceful lets a Go HTTP app stop without dropping a request.
//
// A platform that stops a replica (ebb, Cerebrium, Kubernetes) first stops
// routing to it, then sends SIGTERM, waits a grace period and sends SIGKILL.
// An app that exits at once on SIGTERM drops the requests it is serving; an
// app that ignores SIGTERM is killed in the middle of them. A [Server] does
// what lies between:
//
//  1. On SIGTERM or SIGINT (or when the context passed to [Server.Serve]
//     is cancelled) the readiness endpoint answers 503 at once, so that
//     routers stop sending new work.
//  2. For [Options.LameDuck] the app keeps serving new requests normally,
//     for load balancers that learn of the stop late.
//  3. Then new requests, and requests still waiting in the concurrency
//     queue, are answered 503 with Retry-After, Connection: close and the
//     [DrainHeader] marker, which tells a router the request was not
//     processed and may be retried on another replica. The listener stays
//     open so that no client sees a refused connection while requests are
//     in flight.
//  4. Requests in flight — including streaming responses and hijacked
//     connections such as WebSockets, which [http.Server.Shutdown] does not
//     wait for — run to completion, up to the grace period.
//  5. Requests still running at the deadline have their contexts cancelled
//     with cause [ErrGracePeriodExpired].
//  6. The server is closed, the [Server.OnShutdown] hooks run, each bounded
//     by what is left of the grace period, and Serve returns.
//
// Serve returns as soon as the last request finishes: an idle app exits
// right after the signal, never by waiting out the grace period.
//
// The grace period defaults to the platform's: the EBB_GRACE_PERIOD
// environment variable (seconds) when set, otherwise 30 seconds.
//
// A Server can also cap how many requests run at once ([Options.MaxConcurrency]),
// the app-side twin of a router's replica_concurrency: excess requests wait
// in a bounded FIFO queue and get 503 with Retry-After when it is full.
//
// The package depends on the standard library only.
package graceful
