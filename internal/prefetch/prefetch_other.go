//go:build !amd64 || purego

package prefetch

import "unsafe"

// Range does nothing where there is no prefetch instruction to use.
func Range(unsafe.Pointer, uintptr) {}
