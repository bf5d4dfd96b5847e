package app

import (
	"context"
	"time"
)

// Periodic work. Each job is safe to run on every replica: key rotation
// takes a cluster lock itself, and the purge job takes one here.
const (
	keyJobEvery = time.Minute
	// accessFeedEvery is how often the role snapshots catch up with writes
	// made through other replicas: the bound on how long a revoked role
	// keeps working elsewhere.
	accessFeedEvery = 250 * time.Millisecond
	purgeJobEvery   = time.Hour
	purgeLock       = "directory.purge-deleted"
)

func (a *App) runJobs(ctx context.Context) {
	keyTick := time.NewTicker(keyJobEvery)
	purgeTick := time.NewTicker(purgeJobEvery)
	cleanupTick := time.NewTicker(cleanupJobEvery)
	defer cleanupTick.Stop()
	defer keyTick.Stop()
	defer purgeTick.Stop()
	owner := a.cfg.Listen + "/" + time.Now().String()
	go a.access.Run(ctx, accessFeedEvery)
	for {
		select {
		case <-ctx.Done():
			return
		case <-keyTick.C:
			// Rotate when due, and reload so keys another replica made are
			// published and trusted here too.
			if err := a.keys.Rotate(ctx, a.now()); err != nil {
				a.log.Error("key rotation failed", "err", err)
			}
			if err := a.keys.Reload(ctx); err != nil {
				a.log.Error("key reload failed", "err", err)
			}
		case <-purgeTick.C:
			a.purge(ctx, owner)
		case <-cleanupTick.C:
			a.cleanup(ctx, owner)
		}
	}
}

func (a *App) purge(ctx context.Context, owner string) {
	ok, err := a.store.TryLock(ctx, purgeLock, owner, 10*time.Minute)
	if err != nil || !ok {
		return
	}
	defer a.store.Unlock(context.WithoutCancel(ctx), purgeLock, owner)
	n, err := a.dir.PurgeExpired(ctx)
	if err != nil {
		a.log.Error("purging deleted items failed", "err", err)
	} else if n > 0 {
		a.log.Info("purged deleted items past retention", "count", n)
	}
}
