//go:build !unix

package sbctest

// Heavy is a no-op where flock is not available.
func Heavy() (release func()) { return func() {} }
