// Package demo runs `tonewall demo`: tonewall on loopback with the embedded
// vault, a simulated carrier caller who keys a test card (RFC 4733 events,
// then in-band tones), and a simulated contact center that records what it
// receives. It prints what each side saw. The card is only ever printed
// masked (first six, last four), like every other output of tonewall.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/app"
	"github.com/tonewall/tonewall/internal/card"
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
	carrier, cc *agent
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
	if e.cc, err = newAgent(); err != nil {
		e.stop()
		return nil, err
	}
	cleanups = append(cleanups, e.cc.close)
	if e.carrier, err = newAgent(); err != nil {
		e.stop()
		return nil, err
	}
	cleanups = append(cleanups, e.carrier.close)
	cfg, err := demoConfig(dir, e.cc.addr, e.key)
	if err != nil {
		e.stop()
		return nil, err
	}
	quietLibrary.Do(func() { sip.RouteLibraryLogs(zap.NewNop()) })
	if e.app, err = app.New(cfg, zap.NewNop()); err != nil {
		e.stop()
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.app.Run(runCtx, nil) }()
	cleanups = append(cleanups, func() { stop(); <-done })
	select {
	case <-e.app.Started():
		return e, nil
	case err := <-done:
		e.stop()
		return nil, err
	}
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func demoConfig(dir, ccAddr, apiKey string) (*app.Config, error) {
	sum := sha256.Sum256([]byte(apiKey))
	y := fmt.Sprintf(`sip:
  listeners:
    - {name: carrier, transport: udp, address: "127.0.0.1:0"}
    - {name: contact_center, transport: udp, address: "127.0.0.1:0"}
media: {address: 127.0.0.1, port_min: 46000, port_max: 46999, drain: 10ms}
trunks:
  - {name: carrier, role: carrier, listener: carrier, sources: [127.0.0.1/32]}
  - {name: contact_center, role: contact_center, listener: contact_center, sources: [127.0.0.1/32], targets: ["sip:%s"]}
routes: [{from: carrier, to: contact_center, capture: api}]
vault: {local: {dir: %q}}
audit: {file: %q}
api: {address: "127.0.0.1:0", keys: [{name: demo-desk, sha256: %s, role: agent}]}
`, ccAddr, dir, filepath.Join(dir, "audit.log"), hex.EncodeToString(sum[:]))
	return app.Parse("demo", []byte(y))
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
