package passwords

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
}

// DefaultParams are OWASP's recommended minimum for argon2id (m=19 MiB,
// t=2, p=1): about 20–50 ms per hash on a current server core.
func DefaultParams() Params { return Params{Memory: 19 * 1024, Time: 2, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32

	// Limits on parameters read back from stored hashes. A stored hash
	// chooses how much memory and CPU its verification costs, so an
	// imported or corrupted hash must not be able to ask for gigabytes.
	maxMemory  = 256 * 1024 // KiB
	maxTime    = 16
	maxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64

	argon2Version = 19 // 0x13
)

// phc is a parsed argon2id PHC string.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

var b64 = base64.RawStdEncoding.Strict()

// encode renders $argon2id$v=19$m=…,t=…,p=…$salt$hash, the form used by the
// reference implementation and libsodium, so hashes can be moved between
// systems.
func (h phc) encode() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2Version,
		h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parsePHC parses an argon2id PHC string strictly and rejects parameters
// outside the limits above. Errors are Internal: a stored hash that does
// not parse is a server-side fault.
func parsePHC(s string) (phc, error) {
	var h phc
	fail := func(format string, a ...any) (phc, error) {
		return phc{}, errs.Wrap(errs.Internal, fmt.Errorf(format, a...), "passwords: malformed password hash")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want 5 $-separated fields")
	}
	if parts[1] != "argon2id" {
		return fail("unsupported algorithm %.20q", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2Version) {
		return fail("unsupported version %.20q", parts[2])
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return fail("want m, t and p parameters")
	}
	m, err := param(kv[0], "m", maxMemory)
	if err != nil {
		return fail("%v", err)
	}
	t, err := param(kv[1], "t", maxTime)
	if err != nil {
		return fail("%v", err)
	}
	p, err := param(kv[2], "p", maxThreads)
	if err != nil {
		return fail("%v", err)
	}
	if m < 8*p {
		return fail("memory %d KiB is below 8 KiB per lane", m)
	}
	h.params = Params{Memory: m, Time: t, Threads: uint8(p)}
	if h.salt, err = decode(parts[4], minSaltLen, maxSaltLen); err != nil {
		return fail("bad salt: %v", err)
	}
	if h.key, err = decode(parts[5], minKeyLen, maxKeyLen); err != nil {
		return fail("bad hash: %v", err)
	}
	return h, nil
}

// decode reads canonical unpadded base64 of minLen..maxLen bytes. The
// round-trip check matters because encoding/base64 silently skips \r and
// \n, and a hash should have exactly one spelling.
func decode(s string, minLen, maxLen int) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, fmt.Errorf("%d bytes, want %d..%d", len(b), minLen, maxLen)
	}
	if b64.EncodeToString(b) != s {
		return nil, fmt.Errorf("not canonical base64")
	}
	return b, nil
}

// param parses "name=value" with 1 <= value <= max, in canonical decimal.
func param(s, name string, max uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("want parameter %s", name)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 || n > uint64(max) || strconv.FormatUint(n, 10) != v {
		return 0, fmt.Errorf("parameter %s out of range (1..%d)", name, max)
	}
	return uint32(n), nil
}
