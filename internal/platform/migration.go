package platform

import (
	"context"
	"fmt"
)

// Migrate replaces one replica the way a platform moves work off a node:
// it starts a replacement in the same revision, waits until it is ready,
// then drains the old one through the termination sequence. It returns the
// replacement's id once the old replica is gone. If the replacement never
// becomes ready it is stopped and the old replica keeps serving.
func (a *App) Migrate(ctx context.Context, id string) (string, error) {
	a.mu.Lock()
	v, old := a.findReplicaLocked(id)
	switch {
	case old == nil:
		a.mu.Unlock()
		return "", fmt.Errorf("migrate %s: no replica %q", a.name, id)
	case old.isLeaving() || old.migrating:
		a.mu.Unlock()
		return "", fmt.Errorf("migrate %s: replica %s is already stopping", a.name, id)
	case a.stopping:
		a.mu.Unlock()
		return "", fmt.Errorf("migrate %s: %w", a.name, errAppStopping)
	case a.deploying:
		a.mu.Unlock()
		return "", fmt.Errorf("migrate %s: a rollout is in progress; migrate once it is done", a.name)
	}
	old.migrating = true
	repl := a.startReplicaLocked(v)
	a.lastEvent = fmt.Sprintf("migrating %s to %s", old.ID, repl.ID)
	a.mu.Unlock()
	a.logf("migrate: %s → %s: starting the replacement", old.ID, repl.ID)

	if err := a.waitAllReady(ctx, []*Replica{repl}, v.cfg.Deployment.InitTimeout()); err != nil {
		repl.stop("migration failed")
		<-repl.done
		a.mu.Lock()
		old.migrating = false
		a.lastEvent = fmt.Sprintf("migration of %s failed: %v", old.ID, err)
		a.mu.Unlock()
		a.reapLater(v, repl)
		return "", fmt.Errorf("migrate %s %s: replacement %s: %w", a.name, old.ID, repl.ID, err)
	}
	old.stop("migrated to " + repl.ID)
	<-old.done
	a.reapLater(v, old)
	a.mu.Lock()
	a.lastEvent = fmt.Sprintf("migrated %s to %s", old.ID, repl.ID)
	a.mu.Unlock()
	a.logf("migrate: %s → %s: done", old.ID, repl.ID)
	return repl.ID, nil
}
