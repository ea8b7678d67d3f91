package vault

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckLocalBesideOpenStore: a store another opener holds is ErrHeld at
// once, and CheckLocal lets go of the store so that NewLocal opens it next.
func TestCheckLocalBesideOpenStore(t *testing.T) {
	dir := t.TempDir()
	l := newTestLocal(t, LocalConfig{Dir: dir})
	start := time.Now()
	require.ErrorIs(t, CheckLocal(LocalConfig{Dir: dir}), ErrHeld)
	require.Less(t, time.Since(start), 500*time.Millisecond, "CheckLocal waited on the lock")
	require.NoError(t, l.Close())
	require.NoError(t, CheckLocal(LocalConfig{Dir: dir}))
	newTestLocal(t, LocalConfig{Dir: dir})
}

// TestCheckLocalCreatesNothing: a fresh directory passes and stays empty.
func TestCheckLocalCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, CheckLocal(LocalConfig{Dir: dir}))
	require.NoError(t, CheckLocal(LocalConfig{Dir: filepath.Join(dir, "not", "yet")}))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, ents)
}

// TestCheckLocalRefusesWhatNewLocalRefuses: a key that does not open the
// store, a missing key beside a store, a key readable by others.
func TestCheckLocalRefusesWhatNewLocalRefuses(t *testing.T) {
	dir := t.TempDir()
	cfg := LocalConfig{Dir: dir}
	require.NoError(t, newTestLocal(t, cfg).Close())
	key := filepath.Join(dir, "vault.key")

	require.NoError(t, os.WriteFile(key, bytes.Repeat([]byte{7}, KeySize), 0o600))
	require.ErrorContains(t, CheckLocal(cfg), "wrong key?")

	require.NoError(t, os.Chmod(key, 0o644))
	require.ErrorContains(t, CheckLocal(cfg), "chmod 600")

	require.NoError(t, os.Remove(key))
	require.ErrorContains(t, CheckLocal(cfg), "key file "+key+" is missing")
}
