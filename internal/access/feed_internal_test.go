package access

import (
	"testing"
	"time"
)

// A gap (a number taken by a transaction not yet committed, or rolled
// back) holds the cursor back until it fills in or times out; entries after
// it are applied meanwhile and not applied twice.
func TestFeedCursorWaitsForGaps(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &feed{cursor: 10, seen: map[int64]bool{}, gaps: map[int64]time.Time{}}
	f.seen[11], f.seen[13], f.seen[14] = true, true, true
	f.advance(now)
	if f.cursor != 11 {
		t.Fatalf("cursor %d, want 11 (12 is missing)", f.cursor)
	}
	if _, ok := f.gaps[12]; !ok || !f.seen[13] || !f.seen[14] {
		t.Fatalf("gaps %v seen %v", f.gaps, f.seen)
	}
	// 12 commits: the cursor moves over it and what followed.
	f.seen[12] = true
	f.advance(now.Add(time.Second))
	if f.cursor != 14 || len(f.seen) != 0 {
		t.Fatalf("cursor %d seen %v", f.cursor, f.seen)
	}
	// 15 never commits: after gapTimeout the cursor passes it.
	f.seen[16] = true
	f.advance(now.Add(2 * time.Second))
	if f.cursor != 14 {
		t.Fatalf("cursor %d, want 14 while 15 may still commit", f.cursor)
	}
	f.advance(now.Add(2*time.Second + gapTimeout + time.Millisecond))
	if f.cursor != 16 || len(f.gaps) != 0 {
		t.Fatalf("cursor %d gaps %v after the timeout", f.cursor, f.gaps)
	}
}
