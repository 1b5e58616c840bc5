package platform

import (
	"time"

	"github.com/ebb-run/ebb/config"
)

// Revision is one deployed version of an app's configuration. Its replicas
// all run the same config; a deploy creates the next revision.
type Revision struct {
	// N numbers the app's revisions from 1.
	N       int
	cfg     config.Config
	created time.Time

	// replicas are the revision's replicas, oldest first; guarded by the
	// app's mu.
	replicas []*Replica
	// weight is the percentage of traffic the revision gets (0-100);
	// guarded by the app's mu.
	weight int
}

// Config is the revision's configuration.
func (v *Revision) Config() config.Config { return v.cfg }
