//go:build unix

package audit

import (
	"os"
	"syscall"
	"time"
)

// lockWait is how long Open waits for another holder of the lock to let go:
// `tonewall check` holds a shared lock for a moment.
const lockWait = time.Second

// lockFile takes an exclusive advisory lock, released when f is closed.
func lockFile(f *os.File) error { return flock(f, syscall.LOCK_EX, lockWait) }

// lockShared takes a shared advisory lock without waiting, released when f
// is closed: it fails while another process holds the log open.
func lockShared(f *os.File) error { return flock(f, syscall.LOCK_SH, 0) }

// flock retries a non-blocking flock until wait has passed.
func flock(f *os.File, how int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err != syscall.EWOULDBLOCK || !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
