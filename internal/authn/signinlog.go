package authn

import (
	"context"
	"errors"
	"sync"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// LogSignIn writes a sign-in log record in a transaction apart from the
// request's own work, so a failed request, whose work rolled back, still
// leaves its record. It returns once the record is committed: a token is
// never answered before its record is durable.
//
// Records are group-committed: while one transaction commits, the records
// of other requests queue, and the next transaction writes them all. Every
// token request writes a record, and the transaction's own cost (BEGIN,
// COMMIT, a connection) was most of a record's; under load it is now shared.
// Alone, a record is written at once, as before.
func (s *Service) LogSignIn(ctx context.Context, tenantID string, rec iam.SignIn) error {
	return s.signIns.write(context.WithoutCancel(ctx), s.st, tenantID, rec)
}

// signInWriter queues records while a commit is under way. The request
// whose record finds nobody committing leads: it commits the queue, then
// hands the lead to the first request that queued meanwhile, so no
// goroutine runs in the background and no leader waits for others longer
// than one more commit.
type signInWriter struct {
	mu    sync.Mutex
	queue []*pendingSignIn
	busy  bool // a leader is committing
}

type pendingSignIn struct {
	tenantID string
	rec      iam.SignIn
	done     chan error // errLead, then the record's result
}

// maxSignInBatch bounds one transaction, so a burst cannot hold the write
// lock for long; the rest waits for the next commit.
const maxSignInBatch = 256

// errLead tells a queued request that it now leads.
var errLead = errors.New("authn: lead the next sign-in commit")

func (w *signInWriter) write(ctx context.Context, st store.Store, tenantID string, rec iam.SignIn) error {
	p := &pendingSignIn{tenantID: tenantID, rec: rec, done: make(chan error, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, p)
	lead := !w.busy
	w.busy = true
	w.mu.Unlock()
	if !lead {
		if err := <-p.done; err != errLead {
			return err
		}
	}
	w.mu.Lock()
	// The leader's record is first in the queue: it found it empty, or was
	// handed the lead as its first entry.
	n := min(len(w.queue), maxSignInBatch)
	batch := w.queue[:n:n]
	if w.queue = w.queue[n:]; len(w.queue) == 0 {
		w.queue = nil
	}
	w.mu.Unlock()
	commitSignIns(ctx, st, batch)
	w.mu.Lock()
	if len(w.queue) > 0 {
		next := w.queue[0]
		w.mu.Unlock()
		next.done <- errLead
	} else {
		w.busy = false
		w.mu.Unlock()
	}
	return <-p.done
}

// commitSignIns writes batch in one transaction and tells each record's
// request the result. Should the batch fail, each record is written alone,
// so one bad record cannot cost the others theirs.
func commitSignIns(ctx context.Context, st store.Store, batch []*pendingSignIn) {
	err := st.Write(ctx, func(w store.Writer) error {
		for _, p := range batch {
			if err := audit.RecordSignIn(w, p.tenantID, p.rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			commitSignIns(ctx, st, []*pendingSignIn{p})
		}
		return
	}
	for _, p := range batch {
		p.done <- err
	}
}
