// Package platform is `ebb up`: it runs apps as replicas on this machine,
// routes requests to ready replicas, drains every replica it stops through
// the termination sequence, rolls out revisions and migrates replicas, and
// serves an admin API with Prometheus metrics.
//
// The parts, one file each: Driver (driver.go, local processes in
// local_driver.go), Replica and its State (replica.go, replica_run.go,
// state.go), Revision (revision.go), App and its reconciler (app.go), the
// request queue (queue.go), load-balancing policies (lbpolicy.go), the
// router (router.go), the termination sequence (termination.go), rollouts
// (rollout.go), migrations (migration.go), readiness and health
// (health.go), restart backoff (backoff.go), logs (logring.go), the admin
// API (admin.go) and metrics (metrics.go).
package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/proxy"
)

// Default listen addresses, loopback only.
const (
	DefaultListen = "127.0.0.1:8080"
	DefaultAdmin  = "127.0.0.1:8081"
)

// APIKeyEnv is the environment variable holding the API key that requests
// to apps with disable_auth = false must present as a Bearer token.
const APIKeyEnv = "EBB_API_KEY"

// Options configure a Platform. The zero value is usable.
type Options struct {
	// Listen is the router's address; "" means DefaultListen.
	Listen string
	// Admin is the admin API's address; "" means DefaultAdmin.
	Admin string
	// Driver starts replicas; nil means a LocalDriver.
	Driver Driver
	// APIKey is the key for apps with disable_auth = false; "" means
	// $EBB_API_KEY, or a random key printed at start.
	APIKey string
	// Out receives progress and events; nil discards them.
	Out io.Writer
	// ReplicaOutput, when true, echoes every line replicas write to Out,
	// prefixed with app and replica id.
	ReplicaOutput bool
	// HealthInterval is the period of healthcheck_endpoint checks; three
	// failures in a row replace the replica. Zero means 2 seconds.
	HealthInterval time.Duration
	// LoadConfig loads an app's cerebrium.toml from a directory, for
	// deploys (normally config.Load). Nil disables deploys.
	LoadConfig func(dir string) (*config.Config, error)
	// Autoscaler, when not nil, runs once per app for the platform's
	// lifetime (until ctx ends); it typically calls App.SetDesired from
	// App.Status and App.QueuedSignal. Nil keeps each app at min_replicas.
	Autoscaler func(ctx context.Context, a *App)
}

// Platform runs apps. Create it with New and run it with Run, once.
type Platform struct {
	opts    Options
	driver  Driver
	apiKey  string
	keyGen  bool
	out     io.Writer
	outMu   sync.Mutex
	backoff backoff
	metrics *metrics

	apps  atomic.Pointer[map[string]*App]
	order []string // app names in the order given

	proxy      atomic.Pointer[proxy.Proxy]
	routerAddr atomic.Pointer[string]
	adminAddr  atomic.Pointer[string]
	started    chan struct{}
	ready      chan struct{}
	stopped    chan struct{}

	now func() time.Time
}

// New checks the apps' configs and prepares a platform for them.
func New(cfgs []*config.Config, o Options) (*Platform, error) {
	if len(cfgs) == 0 {
		return nil, errors.New("platform: no apps")
	}
	p := &Platform{
		opts:    o,
		driver:  o.Driver,
		apiKey:  o.APIKey,
		out:     o.Out,
		backoff: defaultBackoff,
		started: make(chan struct{}),
		ready:   make(chan struct{}),
		stopped: make(chan struct{}),
		now:     time.Now,
	}
	if p.opts.HealthInterval <= 0 {
		p.opts.HealthInterval = healthEvery
	}
	if p.driver == nil {
		p.driver = &LocalDriver{}
	}
	if p.out == nil {
		p.out = io.Discard
	}
	if p.apiKey == "" {
		p.apiKey = os.Getenv(APIKeyEnv)
	}
	if p.apiKey == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		p.apiKey, p.keyGen = hex.EncodeToString(b), true
	}
	p.metrics = newMetrics(p)
	apps := map[string]*App{}
	for _, cfg := range cfgs {
		name := cfg.Deployment.Name
		if name == "" || strings.ContainsAny(name, "/?#") {
			return nil, fmt.Errorf("platform: %s: deployment.name %q cannot be used in a URL path", cfg.Path, name)
		}
		if apps[name] != nil {
			return nil, fmt.Errorf("platform: two apps named %q (%s and %s)", name, apps[name].current.cfg.Path, cfg.Path)
		}
		if len(cfg.Runtime.Custom.Entrypoint) == 0 {
			return nil, fmt.Errorf("platform: %s: app %s has no entrypoint: set [cerebrium.runtime.custom] entrypoint", cfg.Path, name)
		}
		a, err := newApp(p, cfg)
		if err != nil {
			return nil, fmt.Errorf("platform: %s: %w", cfg.Path, err)
		}
		apps[name] = a
		p.order = append(p.order, name)
	}
	p.apps.Store(&apps)
	return p, nil
}

// App returns the app named name, or nil.
func (p *Platform) App(name string) *App { return (*p.apps.Load())[name] }

// Apps returns every app, in the order they were given.
func (p *Platform) Apps() []*App {
	apps := *p.apps.Load()
	out := make([]*App, 0, len(p.order))
	for _, n := range p.order {
		out = append(out, apps[n])
	}
	return out
}

// APIKey is the key requests to apps with auth must carry.
func (p *Platform) APIKey() string { return p.apiKey }

// Started is closed once both listeners are bound; RouterURL and AdminURL
// are valid from then on.
func (p *Platform) Started() <-chan struct{} { return p.started }

// Ready is closed once every app has its desired replicas ready for the
// first time.
func (p *Platform) Ready() <-chan struct{} { return p.ready }

// Stopped is closed when Run returns.
func (p *Platform) Stopped() <-chan struct{} { return p.stopped }

// RouterURL is the router's base URL ("http://127.0.0.1:8080").
func (p *Platform) RouterURL() string { return p.routerURL() }

// AdminURL is the admin API's base URL.
func (p *Platform) AdminURL() string {
	if s := p.adminAddr.Load(); s != nil {
		return "http://" + *s
	}
	return ""
}

func (p *Platform) routerURL() string {
	if s := p.routerAddr.Load(); s != nil {
		return "http://" + *s
	}
	return ""
}

// Status returns a snapshot of every app.
func (p *Platform) Status() Status {
	st := Status{Router: p.routerURL(), Admin: p.AdminURL(), Apps: []AppStatus{}}
	for _, a := range p.Apps() {
		st.Apps = append(st.Apps, a.Status())
	}
	return st
}

// Run serves until ctx ends, then shuts down in phases: the router stops
// accepting connections while every replica of every app goes through the
// termination sequence (in-flight requests finish); then the router and
// the admin API close. It returns once every replica process is gone.
// Run may be called only once.
func (p *Platform) Run(ctx context.Context) error {
	defer close(p.stopped)
	listen, admin := or(p.opts.Listen, DefaultListen), or(p.opts.Admin, DefaultAdmin)
	rl, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("platform: router: %w", err)
	}
	al, err := net.Listen("tcp", admin)
	if err != nil {
		rl.Close()
		return fmt.Errorf("platform: admin: %w", err)
	}
	ra, aa := rl.Addr().String(), al.Addr().String()
	p.routerAddr.Store(&ra)
	p.adminAddr.Store(&aa)

	// Idle upstream connections are dropped after 4 s, before the
	// keep-alive timeout of common app servers (uvicorn: 5 s) can close one
	// just as a request is sent on it.
	// Apps run until appCtx ends; life bounds the replica goroutines.
	appCtx, stopApps := context.WithCancel(context.Background())
	defer stopApps()
	life, endLife := context.WithCancel(context.Background())
	defer endLife()
	for _, a := range p.Apps() {
		a.mu.Lock()
		a.ctx = life
		a.mu.Unlock()
	}

	px := proxy.New(proxy.Options{RequestID: true, IdleConnTimeout: 4 * time.Second})
	defer px.Close()
	p.proxy.Store(px)
	routerSrv := &http.Server{Handler: &router{p: p, proxy: px}, ReadHeaderTimeout: 10 * time.Second}
	adminSrv := &http.Server{Handler: p.adminHandler(ctx), ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 2)
	go func() { errc <- serve(routerSrv, rl, "router") }()
	go func() { errc <- serve(adminSrv, al, "admin") }()
	close(p.started)

	if p.keyGen && p.needsKey() {
		p.eventf("API key (generated; set %s to choose one): %s", APIKeyEnv, p.apiKey)
	}

	var wg sync.WaitGroup
	for _, a := range p.Apps() {
		wg.Go(func() { a.run(appCtx) })
		if p.opts.Autoscaler != nil {
			wg.Go(func() { p.opts.Autoscaler(appCtx, a) })
		}
	}
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		p.progress(appCtx)
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	p.eventf("shutting down: draining every replica")

	// Phase 1: stop accepting; drain every app in parallel. The router
	// keeps serving the connections it has while replicas finish.
	grace := p.maxGrace()
	shutCtx, cancelShut := context.WithTimeout(context.Background(), grace+killWait+5*time.Second)
	defer cancelShut()
	routerDone := make(chan error, 1)
	go func() { routerDone <- routerSrv.Shutdown(shutCtx) }()
	stopApps()
	wg.Wait()
	<-progressDone
	// Phase 2: the replicas are gone, so every response is complete or
	// being flushed; give those a moment, then close the router (Shutdown
	// would wait 5 s for connections a client opened but never used).
	select {
	case <-routerDone:
	case <-time.After(time.Second):
		routerSrv.Close()
		<-routerDone
	}
	// Phase 3: the admin API.
	actx, cancelA := context.WithTimeout(context.Background(), time.Second)
	defer cancelA()
	if err := adminSrv.Shutdown(actx); err != nil {
		adminSrv.Close()
	}
	p.eventf("stopped")
	return runErr
}

func serve(srv *http.Server, l net.Listener, name string) error {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("platform: %s: %w", name, err)
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (p *Platform) needsKey() bool {
	for _, a := range p.Apps() {
		if !a.noAuth.Load() {
			return true
		}
	}
	return false
}

func (p *Platform) maxGrace() time.Duration {
	var g time.Duration
	for _, a := range p.Apps() {
		g = max(g, time.Duration(a.grace.Load()))
	}
	return g
}

// progress reports replicas starting, once a second, until every app has
// its desired replicas ready; then it prints the URLs.
func (p *Platform) progress(ctx context.Context) {
	start := p.now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	check := time.NewTicker(20 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C:
			if p.allReady() {
				p.eventf("ready in %s", p.now().Sub(start).Round(time.Millisecond))
				for _, a := range p.Apps() {
					p.eventf("  %s: %s/%s/  (also %s/v4/<project>/%s/)", a.name, p.routerURL(), a.name, p.routerURL(), a.name)
				}
				p.eventf("  admin: %s  (ebb status, ebb logs; metrics at %s/metrics)", p.AdminURL(), p.AdminURL())
				close(p.ready)
				return
			}
		case <-t.C:
			for _, a := range p.Apps() {
				for _, v := range a.Status().Revisions {
					for _, r := range v.Replicas {
						if r.State == Starting {
							p.eventf("%s: %s starting (%.0fs)...", a.name, r.ID, r.AgeSeconds)
						}
					}
				}
			}
		}
	}
}

func (p *Platform) allReady() bool {
	for _, a := range p.Apps() {
		st := a.Status()
		if st.Ready < st.Desired {
			return false
		}
	}
	return true
}

// forget closes the idle proxy connections to a replica that is gone.
func (p *Platform) forget(addr string) {
	if px := p.proxy.Load(); px != nil {
		px.CloseIdle(addr)
	}
}

// eventf prints one line of platform output.
func (p *Platform) eventf(format string, args ...any) {
	line := time.Now().Format("15:04:05.000") + " " + fmt.Sprintf(format, args...) + "\n"
	p.outMu.Lock()
	defer p.outMu.Unlock()
	_, _ = io.WriteString(p.out, line)
}

// replicaOutput echoes a replica's line when asked to.
func (p *Platform) replicaOutput(app, id, line string) {
	if p.opts.ReplicaOutput {
		p.eventf("[%s/%s] %s", app, id, line)
	}
}
