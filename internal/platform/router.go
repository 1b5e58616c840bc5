package platform

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ebb-run/ebb/graceful"
	"github.com/ebb-run/ebb/internal/proxy"
)

// maxAttempts bounds how many replicas one request is tried on when
// replicas refuse it without processing it.
const maxAttempts = 10

// errKilled cancels the requests a replica still holds when the
// termination sequence SIGKILLs it; the proxy answers them 504.
var errKilled = fmt.Errorf("replica killed at the end of response_grace_period: %w", context.DeadlineExceeded)

// router serves every app at /{app}/… and /v4/{project}/{app}/…, stripping
// the prefix, and sends each request to a ready replica with a free slot,
// queueing it while there is none.
type router struct {
	p     *Platform
	proxy *proxy.Proxy
}

// lookup finds the app a path addresses and the path the app sees. It
// does not allocate.
func (p *Platform) lookup(path string) (*App, string) {
	apps := *p.apps.Load()
	if rest, ok := strings.CutPrefix(path, "/v4/"); ok {
		// /v4/{project}/{app}/…
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name, tail := splitSegment(rest[i+1:])
			if a := apps[name]; a != nil {
				return a, tail
			}
		}
	}
	if len(path) < 2 || path[0] != '/' {
		return nil, ""
	}
	name, tail := splitSegment(path[1:])
	return apps[name], tail
}

// splitSegment splits "app/rest" into "app" and "/rest" ("/" when empty).
func splitSegment(s string) (string, string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, "/"
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := rt.p
	a, path := p.lookup(r.URL.Path)
	if a == nil {
		http.Error(w, "ebb: no app at "+r.URL.Path, http.StatusNotFound)
		return
	}
	if !a.noAuth.Load() && !p.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ebb"`)
		http.Error(w, "ebb: missing or wrong API key (Authorization: Bearer <key>)", http.StatusUnauthorized)
		a.codes.add(http.StatusUnauthorized)
		return
	}
	a.requests.Add(1)
	rec := proxy.RecordStatus(w)
	defer rec.Release()

	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(a.grace.Load()))
	defer cancel()
	u := *r.URL
	u.Path, u.RawPath = path, ""
	out := r.WithContext(ctx)
	out.URL = &u
	if r.Header.Get("Authorization") != "" && !a.noAuth.Load() {
		// The platform's key is for the platform, not the app.
		out.Header = r.Header.Clone()
		out.Header.Del("Authorization")
	}
	for attempt := 1; ; attempt++ {
		rep, inc, waited, err := a.acquire(ctx)
		if waited > 0 {
			a.queueHist.Observe(waited.Seconds())
		}
		if err != nil {
			rt.refuse(rec, r, a, err)
			break
		}
		actx, acancel := context.WithCancelCause(ctx)
		dcancel := context.CancelFunc(func() {})
		if g := rep.rev.cfg.Scaling.GracePeriod(); g < time.Duration(a.grace.Load()) {
			// An older revision with a shorter grace period (during a
			// rollout): end the request by its own deadline, so that it
			// is answered 504 before the termination sequence's SIGKILL,
			// never after it.
			actx, dcancel = context.WithTimeout(actx, g)
		}
		stop := context.AfterFunc(inc.ctx, func() { acancel(errKilled) })
		req := out.WithContext(actx)
		rep.dispatched()
		err = rt.proxy.Forward(rec, req, inc.addr)
		stop()
		dcancel()
		acancel(nil)
		rep.release()
		// A retryable failure leaves the body replayable on req.
		out.Body = req.Body
		if err == nil {
			rep.served.Add(1)
			break
		}
		if !proxy.Retryable(err) {
			if ctx.Err() == nil && rec.Code() == http.StatusBadGateway {
				// The replica failed mid-request (it probably died): send
				// nothing more until its readiness check passes again.
				rep.suspend(err)
			}
			break
		}
		rep.suspend(err)
		if attempt == maxAttempts {
			rec.Header().Set("Retry-After", "1")
			http.Error(rec, "ebb: no replica could take the request", http.StatusBadGateway)
			break
		}
	}
	code := rec.Code()
	if code == 0 {
		code = http.StatusOK
	}
	a.codes.add(code)
}

// refuse answers a request that got no replica.
func (rt *router) refuse(w http.ResponseWriter, r *http.Request, a *App, err error) {
	switch {
	case errors.Is(err, ErrQueueFull), errors.Is(err, errAppStopping):
		// Not processed: a client or an outer balancer may retry it.
		w.Header().Set("Retry-After", "1")
		w.Header().Set(graceful.DrainHeader, "1")
		http.Error(w, "ebb: "+a.name+": "+err.Error(), http.StatusServiceUnavailable)
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		w.WriteHeader(499)
	default:
		http.Error(w, "ebb: "+a.name+": no replica became free within response_grace_period", http.StatusGatewayTimeout)
	}
}

func (p *Platform) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(p.apiKey)) == 1
}
