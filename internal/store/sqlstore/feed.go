package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// The change feed (store.Change) is written by the same transaction as the
// change it records, so it can never name a write that rolled back or miss
// one that committed.

// feedObject records a write of an object of a fed kind.
func (t *tx) feedObject(tenantID string, kind iam.Kind, id string) error {
	if !slices.Contains(store.FedKinds, kind) {
		return nil
	}
	return t.feed(tenantID, string(kind), id, "", "")
}

// feedLink records a write of a link of a fed relationship.
func (t *tx) feedLink(tenantID string, rel iam.Rel, sourceID, targetID string) error {
	if !slices.Contains(store.FedRels, rel) {
		return nil
	}
	return t.feed(tenantID, "", sourceID, string(rel), targetID)
}

func (t *tx) feed(tenantID, kind, id, rel, targetID string) error {
	b := newBuilder(t.d)
	b.sql("INSERT INTO changes (tenant_id, kind, id, rel, target_id, at) VALUES (").arg(tenantID).sql(", ").
		arg(kind).sql(", ").arg(id).sql(", ").arg(rel).sql(", ").arg(targetID).sql(", ").
		arg(time.Now().UnixMicro()).sql(")")
	_, err := t.exec(b, "Recording the change failed.")
	return err
}

// Changes implements store.Store.
func (db *DB) Changes(ctx context.Context, afterSeq int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	var out []store.Change
	err := db.run(ctx, db.read, db.readTx, func(t *tx) error {
		b := newBuilder(db.d)
		b.sql("SELECT seq, tenant_id, kind, id, rel, target_id, at FROM changes WHERE seq > ").arg(afterSeq).
			sql(" ORDER BY seq LIMIT ").arg(limit)
		rows, err := t.tx.QueryContext(ctx, b.String(), b.args...)
		if err != nil {
			return t.wrap(err, "Reading the change feed failed.")
		}
		defer rows.Close()
		for rows.Next() {
			var c store.Change
			var kind, rel string
			var at int64
			if err := rows.Scan(&c.Seq, &c.TenantID, &kind, &c.ID, &rel, &c.TargetID, &at); err != nil {
				return t.wrap(err, "Reading the change feed failed.")
			}
			c.Kind, c.Rel, c.At = iam.Kind(kind), iam.Rel(rel), fromMicros(at)
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return t.wrap(err, "Reading the change feed failed.")
		}
		return nil
	})
	return out, err
}

// PruneChanges implements store.Store.
func (db *DB) PruneChanges(ctx context.Context, before time.Time) error {
	return db.Write(ctx, func(w store.Writer) error {
		t := w.(*tx)
		b := newBuilder(db.d)
		b.sql("DELETE FROM changes WHERE at < ").arg(before.UnixMicro())
		_, err := t.exec(b, "Pruning the change feed failed.")
		return err
	})
}
