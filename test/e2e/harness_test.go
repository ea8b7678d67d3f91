package e2e

import (
	"cmp"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// startSBC runs tonewall until the test ends, on o with the e2e defaults
// for what o leaves zero: short INVITE, ring and drain timeouts, the
// pass-listed headers, TLS peers not verified, and a carrier trunk whose
// target answers nothing.
func startSBC(t *testing.T, o sbc.Options) *sbc.SBC {
	t.Helper()
	sip := &o.SIP
	sip.InviteTimeout = cmp.Or(sip.InviteTimeout, 1500*time.Millisecond)
	sip.RingTimeout = cmp.Or(sip.RingTimeout, 20*time.Second)
	sip.DrainTimeout = cmp.Or(sip.DrainTimeout, 2*time.Second)
	if sip.HeaderPass == nil {
		sip.HeaderPass = []string{"User-to-User", "X-Genesys-*"}
	}
	if sip.TLS == nil {
		sip.TLS = &sbc.TLS{}
	}
	if len(o.Carrier.Targets) == 0 {
		o.Carrier.Targets = []string{"127.0.0.1:9"}
	}
	return sbc.Start(t, o)
}

// deadTarget is a UDP address where a socket is bound but nothing answers.
func deadTarget(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c.LocalAddr().String()
}

func splitHostPort(t *testing.T, hp string) (string, int) {
	h, p, err := net.SplitHostPort(hp)
	must(t, err)
	n, err := strconv.Atoi(p)
	must(t, err)
	return h, n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
