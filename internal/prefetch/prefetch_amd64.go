//go:build amd64 && !purego

package prefetch

import "unsafe"

// Range asks for the cache lines of [p, p+n), n > 0, without waiting
// (PREFETCHT0).
//
//go:noescape
func Range(p unsafe.Pointer, n uintptr)
