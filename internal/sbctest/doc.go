// Package sbctest is what tonewall's test suites share.
package sbctest
