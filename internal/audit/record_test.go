package audit

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReloadRecords: a config_reloaded record keeps a file's SHA-256 as it
// is and scrubs the keys it lists; a digest that is not one is dropped; the
// chain verifies with the new fields in it.
func TestReloadRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	sum := "4111111111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // hex, and its digits pass for a card
	changed := []string{"trunks", "api.keys", "4111111111111111"}
	rec, err := l.Append(Record{Type: ConfigReloaded, Actor: "signal:SIGHUP", Digest: sum, Changed: changed})
	require.NoError(t, err)
	require.Equal(t, sum, rec.Digest)
	require.Equal(t, []string{"trunks", "api.keys", "[redacted]"}, rec.Changed)
	require.Equal(t, "4111111111111111", changed[2], "the caller's slice was written")
	rec, err = l.Append(Record{Type: ConfigReloadRefused, Reason: "tonewall.yaml:3: sip.listeners: needs a restart", Digest: "not a digest"})
	require.NoError(t, err)
	require.Empty(t, rec.Digest)
	require.NoError(t, l.Close())
	n, err := VerifyFile(path)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
