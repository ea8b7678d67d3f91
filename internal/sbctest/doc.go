// Package sbctest is what tonewall's test suites share: the heavy-suite
// lock (Heavy), throwaway certificates (NewCA, SelfSigned, ServerCert) and
// the RTP phone (Phone). Its subpackage sipua is the SIP user agent.
//
// sbctest and sipua import no tonewall package, so that any package's own
// tests (package media, package vault, package dtmf, ...) can use them
// without an import cycle. Whatever needs a running tonewall, and so
// internal/app, lives in a subpackage that those internal tests do not
// import.
package sbctest
