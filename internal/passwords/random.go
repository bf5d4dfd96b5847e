package passwords

import (
	"crypto/rand"

	"github.com/ostiary/ostiary/internal/errs"
)

// randomString returns n characters drawn uniformly from alphabet (at most
// 256 characters) using crypto/rand. Random bytes that would bias the draw
// (those at or above the largest multiple of len(alphabet)) are discarded.
func randomString(alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", errs.Wrap(errs.Internal, err, "passwords: cannot read random bytes")
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
