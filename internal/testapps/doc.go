// Package testapps holds small apps with known termination behaviour, used
// as fixtures by the end-to-end tests of `ebb run`, `ebb up` and `ebb check`:
//
//   - appserver: a Go HTTP server whose SIGTERM behaviour is chosen by flag
//     (die at once, ignore it, or shut down gracefully), with slow,
//     streaming and WebSocket endpoints and a report of its peak concurrency;
//   - python/plain.py: a FastAPI app with no SIGTERM handling of its own, run
//     on Debian's uvicorn;
//   - python/seed.py: the lifespan pattern of the graceful-termination seed
//     document (Debian's FastAPI predates lifespan=, so it sets
//     app.router.lifespan_context);
//   - python/ignore_sigterm.py: a standard-library HTTP server on $PORT that
//     ignores SIGTERM, so only SIGKILL stops it.
//
// Both FastAPI apps serve POST /hello, /ready, and, from
// python/load_endpoints.py, /sleep?s=N, /slow?seconds=N and
// /stream?seconds=N (server-sent events); plain.py also answers GET /hello
// and reports its peak concurrency at /max.
//
// Build appserver with BuildAppServer; find the Python files with PythonDir
// and run them with DebianPython.
package testapps
