package authn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

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
	// active counts token requests in flight (TokenRequest): each writes
	// a record when it ends. arrived (one slot, made by NewWith) is
	// signalled on every record queued.
	active  atomic.Int64
	arrived chan struct{}
}

// linger bounds how long a leader waits for the records of token requests
// in flight before it commits. A CPU-bound token service rarely has two
// records arriving within one commit (a tenth of a millisecond): they
// arrive one signature apart. So, as PostgreSQL's commit_delay does when
// other transactions are active, a leader waits while other token
// requests are in flight, until each has queued its record or linger has
// passed; a lone request never waits. Under load this halves the CPU a
// record costs (docs/performance.md); a request's latency then is several
// milliseconds of queueing already.
var linger = time.Millisecond // a variable for tests

// TokenRequest marks a token request in flight until done is called, after
// its sign-in record is logged: group commit waits for such records
// briefly (linger) rather than commit one at a time.
func (s *Service) TokenRequest() (done func()) {
	s.signIns.active.Add(1)
	return func() { s.signIns.active.Add(-1) }
}

// awaitSiblings waits, up to linger, until every token request in flight
// has queued its record.
func (w *signInWriter) awaitSiblings() {
	if w.active.Load() <= 1 {
		return
	}
	timer := time.NewTimer(linger)
	defer timer.Stop()
	for {
		w.mu.Lock()
		n := int64(len(w.queue))
		w.mu.Unlock()
		if n >= w.active.Load() {
			return
		}
		select {
		case <-w.arrived:
		case <-timer.C:
			return
		}
	}
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
	select {
	case w.arrived <- struct{}{}:
	default:
	}
	if !lead {
		if err := <-p.done; err != errLead {
			return err
		}
	}
	w.awaitSiblings()
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
