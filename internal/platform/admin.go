package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Admin API requests and answers. Every endpoint answers JSON; errors are
// {"error": "..."} with a 4xx or 5xx status.
//
//	GET  /v1/status                  Status
//	GET  /v1/apps/{app}              AppStatus
//	POST /v1/apps/{app}/scale        ScaleRequest → AppStatus
//	POST /v1/apps/{app}/deploy       DeployRequest → DeployResult (when the rollout ends)
//	POST /v1/apps/{app}/migrate      MigrateRequest → MigrateResult (when the old replica is gone)
//	GET  /v1/apps/{app}/logs         text lines; ?n=100&replica=r1&follow=1
//	GET  /metrics                    Prometheus

// ScaleRequest sets an app's replica bounds.
type ScaleRequest struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// DeployRequest rolls out a new revision from the cerebrium.toml in Dir
// ("" = the directory of the app's current revision).
type DeployRequest struct {
	Dir string `json:"dir"`
}

// DeployResult is a completed rollout.
type DeployResult struct {
	App      string  `json:"app"`
	Revision int     `json:"revision"`
	Seconds  float64 `json:"seconds"`
}

// MigrateRequest names the replica to move.
type MigrateRequest struct {
	Replica string `json:"replica"`
}

// MigrateResult is a completed migration.
type MigrateResult struct {
	App     string  `json:"app"`
	From    string  `json:"from"`
	To      string  `json:"to"`
	Seconds float64 `json:"seconds"`
}

// ErrorBody is the body of every admin API error.
type ErrorBody struct {
	Error string `json:"error"`
}

func (p *Platform) adminHandler(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.Status())
	})
	mux.HandleFunc("GET /v1/apps/{app}", p.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		writeJSON(w, http.StatusOK, a.Status())
	}))
	mux.HandleFunc("POST /v1/apps/{app}/scale", p.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		var req ScaleRequest
		if !readJSON(w, r, &req) {
			return
		}
		if err := a.SetBounds(req.Min, req.Max); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, a.Status())
	}))
	mux.HandleFunc("POST /v1/apps/{app}/deploy", p.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		var req DeployRequest
		if !readJSON(w, r, &req) {
			return
		}
		if p.opts.LoadConfig == nil {
			writeError(w, http.StatusNotImplemented, errors.New("deploy: this platform cannot load configs"))
			return
		}
		dir := req.Dir
		if dir == "" {
			a.mu.Lock()
			dir = a.current.cfg.Dir
			a.mu.Unlock()
		}
		cfg, err := p.opts.LoadConfig(dir)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("deploy %s: %w", a.name, err))
			return
		}
		start := time.Now()
		v, err := a.Deploy(ctx, cfg)
		if err != nil {
			code := http.StatusConflict
			if errors.Is(err, ErrRolledBack) {
				code = http.StatusUnprocessableEntity
			}
			writeError(w, code, err)
			return
		}
		writeJSON(w, http.StatusOK, DeployResult{App: a.name, Revision: v.N, Seconds: time.Since(start).Seconds()})
	}))
	mux.HandleFunc("POST /v1/apps/{app}/migrate", p.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		var req MigrateRequest
		if !readJSON(w, r, &req) {
			return
		}
		start := time.Now()
		to, err := a.Migrate(ctx, req.Replica)
		if err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusOK, MigrateResult{App: a.name, From: req.Replica, To: to, Seconds: time.Since(start).Seconds()})
	}))
	mux.HandleFunc("GET /v1/apps/{app}/logs", p.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		n := 100
		if s := r.URL.Query().Get("n"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Errorf("logs: n=%q: want a number", s))
				return
			}
			n = v
		}
		replica := r.URL.Query().Get("replica")
		follow := r.URL.Query().Get("follow") == "1"
		var lines <-chan LogLine
		if follow {
			ch, cancel := a.logs.follow()
			defer cancel()
			lines = ch
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, l := range a.logs.tail(n, replica) {
			fmt.Fprintln(w, l.String())
		}
		if !follow {
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		for {
			select {
			case l := <-lines:
				if replica != "" && l.Replica != replica {
					continue
				}
				fmt.Fprintln(w, l.String())
				_ = rc.Flush()
			case <-r.Context().Done():
				return
			case <-ctx.Done():
				return
			}
		}
	}))
	return mux
}

func (p *Platform) withApp(h func(http.ResponseWriter, *http.Request, *App)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("app")
		a := p.App(name)
		if a == nil {
			writeError(w, http.StatusNotFound, fmt.Errorf("no app %q (apps: %v)", name, p.order))
			return
		}
		h(w, r, a)
	}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, ErrorBody{Error: err.Error()})
}
