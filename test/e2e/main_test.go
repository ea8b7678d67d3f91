package e2e

import (
	"os"
	"testing"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/sbctest"
	"github.com/tonewall/tonewall/internal/sip"
)

func TestMain(m *testing.M) {
	// One process holds many tonewalls and agents here: route sipgo's
	// package-wide logger once, before any of them starts.
	sip.RouteLibraryLogs(zap.NewNop())
	release := sbctest.Heavy() // not beside test/hostile's floods
	code := m.Run()
	release()
	os.Exit(code)
}
