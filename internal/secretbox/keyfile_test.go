package secretbox

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ostiary/ostiary/internal/errs"
)

func TestLoadOrCreateKeyFileCreatesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "secrets")
	path := filepath.Join(dir, "master.key")

	key, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize {
		t.Fatalf("key is %d bytes", len(key))
	}
	if runtime.GOOS != "windows" {
		assertMode(t, path, 0o600)
		assertMode(t, dir, 0o700)
	}
	raw, _ := os.ReadFile(path)
	if got, err := ParseKey(string(raw)); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("file does not hold the returned key in base64: %q (%v)", raw, err)
	}

	again, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, key) {
		t.Fatal("second load returned a different key")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestLoadOrCreateKeyFileConcurrentAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent first runs returned different keys")
		}
	}
}

func TestLoadOrCreateKeyFileRefusesLooseMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := LoadOrCreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("mode %04o: err = %v, want a refusal naming chmod 600", mode, err)
		}
	}
}

func TestLoadOrCreateKeyFileRejectsBadContent(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"short":    base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"long":     base64.StdEncoding.EncodeToString(make([]byte, 48)),
		"garbage":  "not base64 at all!",
		"empty":    "",
		"raw key":  string(make([]byte, 32)),
		"two keys": strings.Repeat(base64.StdEncoding.EncodeToString(make([]byte, 32)), 2),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKeyFile(path); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err = %v, want Invalid", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%s: the file was overwritten", name)
		}
	}
}

func TestLoadOrCreateKeyFileRejectsDirectory(t *testing.T) {
	if _, err := LoadOrCreateKeyFile(t.TempDir()); err == nil {
		t.Fatal("a directory was accepted as a key file")
	}
}

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb, 0xff, 0x3e}, 11)[:KeySize] // exercises + / - _
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		s := "  " + enc.EncodeToString(key) + "\n"
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	secret := base64.StdEncoding.EncodeToString(make([]byte, 31))
	for _, s := range []string{"", "   ", "!!!!", secret, base64.StdEncoding.EncodeToString(make([]byte, 33))} {
		_, err := ParseKey(s)
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("ParseKey(%q): err = %v, want Invalid", s, err)
		}
		if s == secret && strings.Contains(err.Error(), s) {
			t.Error("the error repeats the key")
		}
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
}
