// Package demo runs `tonewall demo`: tonewall on loopback with the embedded
// vault, a simulated carrier caller who keys a test card (RFC 4733 events,
// then in-band tones), and a simulated contact center that records what it
// receives. It prints what each side saw. The card is only ever printed
// masked (first six, last four), like every other output of tonewall.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/app"
	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
	"github.com/tonewall/tonewall/internal/sip"
)

// quietLibrary silences sipgo's package-wide logger once per process: it is
// a global, and a second Run (tests run the demo again) would write it while
// the first one's last transactions still read it.
var quietLibrary sync.Once

// TestCard is a Visa test number that no issuer will authorize.
const (
	testPAN    = "4111111111111111"
	testExpiry = "1230"
	testCVV    = "737"
)

// Run plays the demo and writes its report to w.
func Run(ctx context.Context, w io.Writer) error {
	e, err := start(ctx)
	if err != nil {
		return err
	}
	defer e.stop()
	return play(ctx, w, e.app, e.carrier, e.cc, e.key)
}

// env is tonewall and its two simulated peers, running.
type env struct {
	app         *app.App
	carrier, cc *sipua.Agent
	key         string
	stop        func()
}

func start(ctx context.Context) (*env, error) {
	dir, err := os.MkdirTemp("", "tonewall-demo")
	if err != nil {
		return nil, err
	}
	e := &env{key: randomKey()}
	var cleanups []func()
	e.stop = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	cleanups = append(cleanups, func() { _ = os.RemoveAll(dir) })
	if e.cc, err = sipua.Open(sipua.Options{}); err != nil {
		e.stop()
		return nil, err
	}
	cleanups = append(cleanups, e.cc.Close)
	e.cc.Phone.Listen()
	if e.carrier, err = sipua.Open(sipua.Options{}); err != nil {
		e.stop()
		return nil, err
	}
	cleanups = append(cleanups, e.carrier.Close)
	quietLibrary.Do(func() { sip.RouteLibraryLogs(zap.NewNop()) })
	s, err := sbc.Run(ctx, options(dir, e.cc.Addr, e.key), zap.NewNop())
	if err != nil {
		e.stop()
		return nil, err
	}
	e.app = s.App
	cleanups = append(cleanups, func() { _ = s.Stop() })
	return e, nil
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// options are the demo's tonewall: loopback only, the contact center at
// ccAddr, captures opened over the API with apiKey, vault and audit log
// in dir.
func options(dir, ccAddr, apiKey string) sbc.Options {
	loopback := []string{"127.0.0.1/32"}
	return sbc.Options{
		Media:         sbc.Media{Address: "127.0.0.1", PortMin: 46000, PortMax: 46999, Drain: 10 * time.Millisecond},
		Carrier:       sbc.Trunk{Sources: loopback},
		ContactCenter: sbc.Trunk{Sources: loopback, Targets: []string{ccAddr}},
		API:           sbc.API{Keys: []sbc.APIKey{sbc.Key("demo-desk", apiKey, "agent")}},
		DataDir:       dir,
	}
}

// masked shows a test card as the demo may print it.
func masked(pan string) string {
	p := card.NewPAN([]byte(pan))
	defer p.Wipe()
	return p.Masked()
}

func step(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}
