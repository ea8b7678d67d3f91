// Package sbc starts a tonewall in the calling process from typed options,
// for the end-to-end tests and the demo: Options render to YAML with
// yaml.Marshal, and that YAML goes through app.Parse, the entry point
// of production, before app.New runs it. The YAML also serves a tonewall
// in a process of its own (test/sipload).
//
// It imports internal/app, so no package tonewall's app is built from
// may import it; the leaf pieces of the kit are in sbctest and
// sbctest/sipua.
package sbc
