package e2e

import (
	"flag"
	"fmt"
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
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		if left := unexercised(); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the suite reached no answer of these operations of internal/api/openapi.yaml: %v\n", left)
			code = 1
		}
	}
	os.Exit(code)
}
