package platform

import (
	"net"
	"strconv"
	"time"
)

// Status is the platform's state as `ebb status --json` prints it.
type Status struct {
	// Router and Admin are the base URLs of the two listeners.
	Router string      `json:"router"`
	Admin  string      `json:"admin"`
	Apps   []AppStatus `json:"apps"`
}

// AppStatus is one app. It doubles as the metrics snapshot an autoscaler
// reads: InFlight, Queued and Requests are live counters, and each
// replica's PID is its process group id (for /proc CPU and memory).
type AppStatus struct {
	Name string `json:"name"`
	// URL is where the router serves the app.
	URL      string `json:"url"`
	Min      int    `json:"min_replicas"`
	Max      int    `json:"max_replicas"`
	Desired  int    `json:"desired_replicas"`
	Ready    int    `json:"ready_replicas"`
	InFlight int    `json:"in_flight"`
	Queued   int    `json:"queued"`
	// Requests counts every request routed to the app since start.
	Requests uint64 `json:"requests"`
	// Failing is set while the app keeps crashing, with its last output.
	Failing   string `json:"failing,omitempty"`
	LastEvent string `json:"last_event,omitempty"`
	// Scaling is the autoscaler's view: its metric, target, the observed
	// value and its last decision. Nil without an autoscaler.
	Scaling   *ScalingStatus   `json:"scaling,omitempty"`
	Deploying bool             `json:"deploying,omitempty"`
	Revisions []RevisionStatus `json:"revisions"`
}

// RevisionStatus is one live revision.
type RevisionStatus struct {
	N int `json:"revision"`
	// Weight is the percentage of traffic the revision receives.
	Weight   int             `json:"weight"`
	Dir      string          `json:"dir"`
	Created  time.Time       `json:"created"`
	Replicas []ReplicaStatus `json:"replicas"`
}

// ReplicaStatus is one replica.
type ReplicaStatus struct {
	ID       string `json:"id"`
	Revision int    `json:"revision"`
	State    State  `json:"state"`
	// Routable is false while the replica is starting, draining, or
	// failing its readiness check.
	Routable bool   `json:"routable"`
	PID      int    `json:"pid"`
	Port     int    `json:"port"`
	InFlight int    `json:"in_flight"`
	Capacity int    `json:"capacity"`
	Served   uint64 `json:"served"`
	Restarts int    `json:"restarts"`
	// AgeSeconds is the time since the replica was created.
	AgeSeconds float64 `json:"age_seconds"`
	// ColdStartSeconds is the time its last process took to become ready.
	ColdStartSeconds float64 `json:"cold_start_seconds,omitempty"`
	LastError        string  `json:"last_error,omitempty"`
}

// Status returns a snapshot of the app.
func (a *App) Status() AppStatus {
	now := a.p.now()
	a.mu.Lock()
	st := AppStatus{
		Name: a.name, URL: a.p.routerURL() + "/" + a.name + "/",
		Min: a.min, Max: a.max, Desired: a.desired,
		Failing: a.failing, LastEvent: a.lastEvent, Scaling: a.scaling.clone(), Deploying: a.deploying,
	}
	revs := append([]*Revision(nil), a.revisions...)
	reps := make([][]*Replica, len(revs))
	weights := make([]int, len(revs))
	for i, v := range revs {
		reps[i] = append([]*Replica(nil), v.replicas...)
		weights[i] = v.weight
	}
	a.mu.Unlock()
	st.Queued = a.Queued()
	st.Requests = a.requests.Load()
	for i, v := range revs {
		rs := RevisionStatus{N: v.N, Weight: weights[i], Dir: v.cfg.Dir, Created: v.created, Replicas: []ReplicaStatus{}}
		for _, r := range reps[i] {
			s := r.status(now)
			if s.State == Ready {
				st.Ready++
			}
			st.InFlight += s.InFlight
			rs.Replicas = append(rs.Replicas, s)
		}
		st.Revisions = append(st.Revisions, rs)
	}
	return st
}

func (r *Replica) status(now time.Time) ReplicaStatus {
	s := ReplicaStatus{
		ID: r.ID, Revision: r.rev.N, State: r.State(), Routable: r.Routable(),
		InFlight: r.InFlight(), Capacity: r.Capacity(), Served: r.served.Load(),
		Restarts: int(r.restarts.Load()), AgeSeconds: now.Sub(r.created).Seconds(),
	}
	if inc := r.cur.Load(); inc != nil && s.State != Stopped {
		s.PID = inc.inst.PID()
		if _, port, err := net.SplitHostPort(inc.addr); err == nil {
			s.Port, _ = strconv.Atoi(port)
		}
	}
	r.mu.Lock()
	s.ColdStartSeconds = r.coldStart.Seconds()
	s.LastError = r.lastErr
	r.mu.Unlock()
	return s
}
