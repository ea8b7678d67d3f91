package vault

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// KeySize is the length of the local vault's AES-256 key file.
const KeySize = 32

// loadOrCreateKey reads the key at path, or creates it (mode 0600, from
// crypto/rand) when absent. It refuses a key that group or others may read, or
// of the wrong size. created reports a new key.
func loadOrCreateKey(path string, rnd io.Reader) (key []byte, created bool, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(path, rnd)
		return key, err == nil, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("vault: key file: %w", err)
	}
	if err := checkKeyFile(path, fi); err != nil {
		return nil, false, err
	}
	key, err = os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("vault: key file: %w", err)
	}
	if len(key) != KeySize { // changed since Stat
		wipe(key)
		return nil, false, fmt.Errorf("vault: key file %s holds %d bytes, want exactly %d", path, len(key), KeySize)
	}
	return key, false, nil
}

func checkKeyFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("vault: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return fmt.Errorf("vault: key file %s has mode %04o, readable by group or others; run chmod 600 %s", path, perm, path)
	}
	if fi.Size() != KeySize {
		return fmt.Errorf("vault: key file %s holds %d bytes, want exactly %d (raw bytes, e.g. head -c 32 /dev/urandom)", path, fi.Size(), KeySize)
	}
	return nil
}

func createKey(path string, rnd io.Reader) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("vault: key directory: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, fmt.Errorf("vault: key randomness: %w", err)
	}
	// O_EXCL: never overwrite a key another process created meanwhile.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		wipe(key)
		return nil, fmt.Errorf("vault: create key file: %w", err)
	}
	_, err = f.Write(key)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		wipe(key)
		_ = os.Remove(path)
		return nil, fmt.Errorf("vault: write key file: %w", err)
	}
	return key, nil
}

// wipe zeroes b in place.
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
