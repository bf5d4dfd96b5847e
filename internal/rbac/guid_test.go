package rbac

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestParseGUID(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"62e90394-69f5-4237-9190-012177145e10", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{"62E90394-69F5-4237-9190-012177145E10", false}, // another id than its lower-case spelling
		{"62e90394-69f5-4237-9190-012177145e1g", false},
		{"62e90394-69f5-4237-9190_012177145e10", false},
		{"62e9039469f542379190012177145e10", false},
		{"{62e90394-69f5-4237-9190-012177145e10}", false},
		{"", false},
		{"alice", false},
	} {
		if _, ok := parseGUID(c.in); ok != c.ok {
			t.Errorf("parseGUID(%q) = %v, want %v", c.in, ok, c.ok)
		}
	}
	a, _ := parseGUID("62e90394-69f5-4237-9190-012177145e10")
	b, _ := parseGUID("62e90394-69f5-4237-9190-012177145e11")
	if a == b || a != (guid{0x62e9039469f54237, 0x9190012177145e10}) {
		t.Errorf("parseGUID gives %x and %x", a, b)
	}
}

// TestParseGUIDBytes compares parseGUID with a plain reading of the same
// bytes, changing one byte of a GUID to every value in every position.
func TestParseGUIDBytes(t *testing.T) {
	plain := func(s string) (guid, bool) {
		var g guid
		if len(s) != 36 {
			return g, false
		}
		for i := 0; i < 36; i++ {
			c := s[i]
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if c != '-' {
					return g, false
				}
				continue
			}
			var v uint64
			switch {
			case '0' <= c && c <= '9':
				v = uint64(c - '0')
			case 'a' <= c && c <= 'f':
				v = uint64(c-'a') + 10
			default:
				return g, false
			}
			if i < 18 {
				g.hi = g.hi<<4 | v
			} else {
				g.lo = g.lo<<4 | v
			}
		}
		return g, true
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		b := []byte(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff))
		for i := range b {
			orig := b[i]
			for c := range 256 {
				b[i] = byte(c)
				g, ok := parseGUID(string(b))
				wg, wok := plain(string(b))
				if ok != wok || (ok && g != wg) {
					t.Fatalf("parseGUID(%q) = %x %v, want %x %v", b, g, ok, wg, wok)
				}
			}
			b[i] = orig
		}
	}
}
