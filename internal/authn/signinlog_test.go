package authn

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

const logTenant = "3c1f2a4b-5d6e-4f70-8192-a3b4c5d6e7f8"

func signInRec(id string) iam.SignIn {
	return iam.SignIn{ID: id, CreatedDateTime: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)}
}

func stored(t *testing.T, st store.Store, id string) bool {
	t.Helper()
	err := st.Read(context.Background(), func(r store.Reader) error {
		_, err := r.Get(logTenant, iam.KindSignIn, id)
		return err
	})
	return err == nil
}

// Many requests logging at once: every call returns only once its record
// is committed, and every record is there.
func TestLogSignInGroupCommit(t *testing.T) {
	db := backendtest.Open(t)
	svc := New(db)
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
			if err := svc.LogSignIn(context.Background(), logTenant, signInRec(id)); err != nil {
				errc <- err
				return
			}
			if !stored(t, db, id) {
				errc <- fmt.Errorf("LogSignIn returned before %s was committed", id)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if svc.signIns.busy || len(svc.signIns.queue) != 0 {
		t.Errorf("writer left busy=%v with %d queued", svc.signIns.busy, len(svc.signIns.queue))
	}
}

// A batch with one record that cannot be written (its id is taken) fails
// that record alone.
func TestCommitSignInsIsolatesABadRecord(t *testing.T) {
	db := backendtest.Open(t)
	taken := "00000000-0000-0000-0000-00000000000b"
	commitSignIns(context.Background(), db, []*pendingSignIn{{tenantID: logTenant, rec: signInRec(taken), done: make(chan error, 1)}})
	batch := []*pendingSignIn{
		{tenantID: logTenant, rec: signInRec("00000000-0000-0000-0000-00000000000a"), done: make(chan error, 1)},
		{tenantID: logTenant, rec: signInRec(taken), done: make(chan error, 1)},
		{tenantID: logTenant, rec: signInRec("00000000-0000-0000-0000-00000000000c"), done: make(chan error, 1)},
	}
	commitSignIns(context.Background(), db, batch)
	for i, want := range []bool{true, false, true} {
		if err := <-batch[i].done; (err == nil) != want {
			t.Errorf("record %d: err %v", i, err)
		}
	}
	for _, id := range []string{"00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000c"} {
		if !stored(t, db, id) {
			t.Errorf("%s was lost with the bad record", id)
		}
	}
}
