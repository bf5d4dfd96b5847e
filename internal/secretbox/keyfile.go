package secretbox

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
)

// ParseKey decodes a base64 master key given in configuration
// (OSTIARY_MASTER_KEY). Standard and URL-safe alphabets, padded or not, are
// accepted because operators paste keys from different tools. Replicas on
// one PostgreSQL database must all be configured with the same key. The
// error never repeats the key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errs.E(errs.Invalid, "secretbox: the master key is empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, errs.E(errs.Invalid, "secretbox: the master key must be %d bytes of base64, got %d bytes", KeySize, len(key))
		}
		return key, nil
	}
	return nil, errs.E(errs.Invalid, "secretbox: the master key is not valid base64")
}

// LoadOrCreateKeyFile returns the master key stored base64-encoded at path,
// creating it from crypto/rand (mode 0600, parent directory 0700) on first
// run, so a single-node install encrypts at rest with no setup. A key file
// that group or others can access is refused rather than used, because a
// readable key defeats the encryption. Replicas sharing one PostgreSQL
// database must not each create their own file: give them the same key
// through OSTIARY_MASTER_KEY or copy one file to all of them.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot create the key directory")
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot read random key")
	}
	created, err := createExclusive(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
	if err != nil {
		return nil, err
	}
	if !created {
		// Another process created the file first; use its key so both agree.
		return readKeyFile(path)
	}
	return key, nil
}

func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot read the key file %s", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, errs.E(errs.Invalid, "secretbox: the key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, errs.E(errs.Invalid,
			"secretbox: the key file %s has mode %04o and is accessible by group or others; run chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot read the key file %s", path)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "secretbox: the key file %s does not hold a valid key", path)
	}
	return key, nil
}

// createExclusive writes data to path only if path does not exist, without
// ever exposing a partly written file: the data goes to a temporary file
// that is then hard-linked into place (link fails if the name is taken).
// It reports false when another process won the race.
func createExclusive(path string, data []byte) (created bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".masterkey-*")
	if err != nil {
		return false, errs.Wrap(errs.Internal, err, "secretbox: cannot create the key file")
	}
	defer os.Remove(tmp.Name())
	if err := writeAndSync(tmp, data); err != nil {
		return false, errs.Wrap(errs.Internal, err, "secretbox: cannot write the key file")
	}
	switch err := os.Link(tmp.Name(), path); {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	}
	// Some file systems have no hard links; fall back to O_EXCL.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, errs.Wrap(errs.Internal, err, "secretbox: cannot create the key file")
	}
	if err := writeAndSync(f, data); err != nil {
		os.Remove(path)
		return false, errs.Wrap(errs.Internal, err, "secretbox: cannot write the key file")
	}
	return true, nil
}

func writeAndSync(f *os.File, data []byte) error {
	// CreateTemp already uses 0600; Chmod makes it independent of umask.
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return nil
}
