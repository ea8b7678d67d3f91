// Package e2e runs tonewall in-process on loopback and drives it with real
// SIP user agents (sipgo based, and baresip where installed) over UDP, TCP
// and TLS. Everything lives in _test files; this file only names the package.
package e2e
