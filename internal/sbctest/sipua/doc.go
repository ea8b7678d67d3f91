// Package sipua is the SIP user agent of tonewall's tests, demo and load
// generator: a sipgo agent standing for a carrier or a contact center,
// with an RTP phone for its media. It answers INVITEs by a Plan and keeps
// what it receives for the test to check.
//
// Like sbctest, it imports no tonewall package.
package sipua
