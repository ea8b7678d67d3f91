package soak

import (
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest"
	tsip "github.com/tonewall/tonewall/internal/sip"
)

func TestMain(m *testing.M) {
	// sipgo's logger and its timers are package-wide: set them once, before
	// any user agent starts.
	tsip.RouteLibraryLogs(zap.NewNop())
	if os.Getenv("SOAK_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 64 // near every allocation: the profiles explain a growth
	}
	sz := sizeFromEnv()
	sip.SetTimers(sz.t1, 4*time.Second, sz.t4)
	// SetTimers leaves Timer D (an INVITE's client transaction after a
	// failure, a 487 say) at 32 s; the soak scales it with T1 like the
	// others, which gives 32 s again on production's T1.
	sip.Timer_D = 64 * sz.t1
	release := sbctest.Heavy() // not beside test/e2e or test/hostile
	code := m.Run()
	release()
	os.Exit(code)
}
