// Package sbctest is what tonewall's test suites share: the heavy-suite
// lock (Heavy), throwaway certificates (NewCA, SelfSigned, ServerCert) and
// the RTP and SRTP phone (Phone). Below it:
//
//   - sipua, the SIP user agent (a carrier's or a contact center's);
//   - inband, DTMF keyed as audio on a Phone;
//   - sbc, a tonewall started in-process from typed options.
//
// sbctest and sipua import no tonewall package, so that any package's own
// tests (package media, package vault, package dtmf, ...) can use them
// without an import cycle. inband imports internal/dtmf and sbc imports
// internal/app: the internal tests of the packages those import cannot
// use them, and nothing in sbctest or sipua may import them.
package sbctest
