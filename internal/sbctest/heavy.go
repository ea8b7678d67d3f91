//go:build unix

package sbctest

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Heavy takes the machine-wide lock of the suites that load the machine
// (test/e2e's hundreds of concurrent calls, test/hostile's floods,
// internal/dtmf's DSP corpora): go test runs packages side by side, and
// one's load would starve another's timing. It blocks until the lock is free and returns its
// release; on error it returns a no-op, and the suites run side by side.
func Heavy() (release func()) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "tonewall-heavy-tests.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return func() {}
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return func() {}
	}
	return func() { f.Close() } // closing the descriptor drops the lock
}
