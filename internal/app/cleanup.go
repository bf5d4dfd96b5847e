package app

import (
	"context"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
)

// The hourly cleanup of the token service's expired records (refresh
// tokens and their families, authorization codes, browser sessions,
// assertion jti records) and of sign-in log records past
// OSTIARY_SIGNIN_LOG_RETENTION, under a cluster lock so one replica does
// it at a time.
const (
	cleanupJobEvery = time.Hour
	cleanupLock     = "authn.cleanup-expired"
)

// CleanupExpired runs the cleanup once, now, if no other replica holds
// its lock; ran reports whether it did.
func (a *App) CleanupExpired(ctx context.Context, owner string) (rep authn.CleanupReport, ran bool, err error) {
	ok, err := a.store.TryLock(ctx, cleanupLock, owner, 30*time.Minute)
	if err != nil || !ok {
		return rep, false, err
	}
	defer a.store.Unlock(context.WithoutCancel(ctx), cleanupLock, owner)
	rep, err = a.clients.PurgeExpired(ctx, a.now(), a.cfg.SignInLogRetention)
	return rep, true, err
}

func (a *App) cleanup(ctx context.Context, owner string) {
	rep, ran, err := a.CleanupExpired(ctx, owner)
	switch {
	case err != nil:
		a.log.Error("cleanup of expired tokens and sign-in logs failed", "err", err, "removed", rep.Total())
	case ran && rep.Total() > 0:
		a.log.Info("removed expired tokens, codes, sessions and old sign-in logs", "refresh_tokens", rep.RefreshTokens,
			"families", rep.RefreshTokenFamilies, "codes", rep.AuthCodes, "sessions", rep.SignInSessions,
			"assertions", rep.Assertions, "sign_ins", rep.SignIns)
	}
}
