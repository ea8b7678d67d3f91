//go:build unix

package main

import (
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// raiseFileLimit lifts the soft limit on open descriptors to the hard one
// (Go does so at start too; this makes it explicit and logs both): every
// SIP connection and RTP socket is a descriptor, and the soft default of
// 1024 is a few hundred calls.
func raiseFileLimit(log *zap.Logger) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the open-file limit", zap.Error(err))
		return
	}
	soft := lim.Cur
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			log.Warn("cannot raise the open-file limit", zap.Uint64("soft", soft), zap.Uint64("hard", lim.Max), zap.Error(err))
			return
		}
	}
	log.Info("open-file limit", zap.Uint64("soft_at_start", soft), zap.Uint64("soft", lim.Cur), zap.Uint64("hard", lim.Max))
}
