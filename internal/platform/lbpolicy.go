package platform

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/ebb-run/ebb/config"
)

// policy is a load-balancing algorithm: it picks a replica among reps and
// reserves a slot on it, or returns nil when every replica is full or
// unroutable. Implementations keep their state in atomics and never block.
type policy interface {
	pick(reps []*Replica) (*Replica, *incarnation)
}

// newPolicy returns the policy named by the config (config.LB* constants,
// with LBAuto already resolved).
func newPolicy(name string) (policy, error) {
	switch name {
	case config.LBFirstAvailable:
		return firstAvailable{}, nil
	case config.LBRoundRobin:
		return &roundRobin{}, nil
	case config.LBMinConnections:
		return minConnections{}, nil
	case config.LBRandomChoice2:
		return randomChoice2{}, nil
	}
	return nil, fmt.Errorf("load balancing algorithm %q: want %s, %s, %s or %s", name,
		config.LBFirstAvailable, config.LBRoundRobin, config.LBMinConnections, config.LBRandomChoice2)
}

// firstAvailable sends to the first replica, in start order, with a free slot.
type firstAvailable struct{}

func (firstAvailable) pick(reps []*Replica) (*Replica, *incarnation) {
	return scanFrom(reps, 0)
}

// roundRobin starts each search one replica further.
type roundRobin struct{ next atomic.Uint32 }

func (p *roundRobin) pick(reps []*Replica) (*Replica, *incarnation) {
	if len(reps) == 0 {
		return nil, nil
	}
	return scanFrom(reps, int(p.next.Add(1)%uint32(len(reps))))
}

// minConnections sends to the replica with the fewest requests in flight.
type minConnections struct{}

func (minConnections) pick(reps []*Replica) (*Replica, *incarnation) {
	best, bestN := -1, int(^uint(0)>>1)
	for i, r := range reps {
		if !r.routable.Load() {
			continue
		}
		if n := r.InFlight(); n < bestN {
			best, bestN = i, n
		}
	}
	if best < 0 {
		return nil, nil
	}
	if inc := reps[best].reserve(); inc != nil {
		return reps[best], inc
	}
	return scanFrom(reps, best)
}

// randomChoice2 compares two random replicas and sends to the less loaded.
type randomChoice2 struct{}

func (randomChoice2) pick(reps []*Replica) (*Replica, *incarnation) {
	n := len(reps)
	switch n {
	case 0:
		return nil, nil
	case 1:
		return scanFrom(reps, 0)
	}
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	if reps[j].InFlight() < reps[i].InFlight() {
		i, j = j, i
	}
	if inc := reps[i].reserve(); inc != nil {
		return reps[i], inc
	}
	if inc := reps[j].reserve(); inc != nil {
		return reps[j], inc
	}
	return scanFrom(reps, i)
}

// scanFrom reserves the first replica with a free slot, starting at index
// start and wrapping around.
func scanFrom(reps []*Replica, start int) (*Replica, *incarnation) {
	n := len(reps)
	for k := range n {
		r := reps[(start+k)%n]
		if inc := r.reserve(); inc != nil {
			return r, inc
		}
	}
	return nil, nil
}
