package rbac

import "math/bits"

// guid is a canonical GUID's 128 bits.
type guid struct{ hi, lo uint64 }

// parseGUID reads the canonical lower-case 8-4-4-4-12 form only: any other
// spelling is a different id and is interned as a string. Every decision
// parses one or two ids, so it converts eight digits at a time.
func parseGUID(s string) (guid, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return guid{}, false
	}
	a, okA := hex8(le32(s[0:4]) | le32(s[4:8])<<32)
	b, okB := hex8(le32(s[9:13]) | le32(s[14:18])<<32)
	c, okC := hex8(le32(s[19:23]) | le32(s[24:28])<<32)
	d, okD := hex8(le32(s[28:32]) | le32(s[32:36])<<32)
	return guid{hi: a<<32 | b, lo: c<<32 | d}, okA && okB && okC && okD
}

// le32 reads four bytes little-endian; the compiler makes it one load.
func le32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// hex8 converts eight lower-case hexadecimal digits, loaded little-endian
// (the first digit in the low byte), to their 32-bit value, and reports
// whether all eight were such digits. It works on all eight bytes at once.
func hex8(x uint64) (uint64, bool) {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	// A byte below 0x80 is in [lo, hi) when adding 0x80-lo sets its top bit
	// and adding 0x80-hi does not; no sum carries into the next byte.
	digit := (x + (0x80-'0')*ones) &^ (x + (0x80-'9'-1)*ones)
	letter := (x + (0x80-'a')*ones) &^ (x + (0x80-'f'-1)*ones)
	ok := x&high == 0 && (digit|letter)&high == high
	// '0'-'9' end in 0-9; 'a'-'f' end in 1-6 and have bit 6 set: add 9.
	n := x&(0x0f*ones) + (x>>6&ones)*9
	// Pair the nibbles into bytes, the bytes into a word, first digit on top.
	n = (n&0x000f000f000f000f)<<4 | (n>>8)&0x000f000f000f000f
	n = (n | n>>8) & 0x0000ffff0000ffff
	n = (n | n>>16) & 0xffffffff
	return uint64(bits.ReverseBytes32(uint32(n))), ok
}
