package pace

import (
	"testing"
	"time"
)

func TestPerKey(t *testing.T) {
	var p PerKey
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !p.Due("a", now, time.Minute) {
		t.Fatal("first call not due")
	}
	if p.Due("a", now.Add(59*time.Second), time.Minute) {
		t.Fatal("due again within the interval")
	}
	if !p.Due("b", now, time.Minute) {
		t.Fatal("another key shares the interval")
	}
	if !p.Due("a", now.Add(time.Minute), time.Minute) {
		t.Fatal("not due after the interval")
	}
}
