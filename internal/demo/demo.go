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
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/app"
	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/config"
	"github.com/tonewall/tonewall/internal/sip"
)

// TestCard is a Visa test number that no issuer will authorize.
const (
	testPAN    = "4111111111111111"
	testExpiry = "1230"
	testCVV    = "737"
)

// Run plays the demo and writes its report to w.
func Run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "tonewall-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cc, err := newAgent()
	if err != nil {
		return err
	}
	defer cc.close()
	carrier, err := newAgent()
	if err != nil {
		return err
	}
	defer carrier.close()
	apiKey := randomKey()
	cfg, err := demoConfig(dir, cc.addr, apiKey)
	if err != nil {
		return err
	}
	sip.RouteLibraryLogs(zap.NewNop())
	a, err := app.New(cfg, zap.NewNop())
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, nil) }()
	defer func() { stop(); <-done }()
	select {
	case <-a.Started():
	case err := <-done:
		return err
	}
	return play(ctx, w, a, carrier, cc, apiKey)
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func demoConfig(dir, ccAddr, apiKey string) (*config.Config, error) {
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
	return config.Parse("demo", []byte(y))
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
