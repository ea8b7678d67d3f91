package sbctest

// TB is the part of testing.TB the kit uses; *testing.T and *testing.B
// satisfy it. The kit does not import testing, so that the demo, which
// runs inside the tonewall binary, can use it without linking testing in.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Failed() bool
	TempDir() string
	Name() string
}
