package sbc

import (
	"slices"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/app"
)

// TestYAMLParses: what Options render is a configuration production
// accepts, and says what the options said.
func TestYAMLParses(t *testing.T) {
	o := Options{Transport: "tls", DataDir: t.TempDir(), Capture: "always",
		SIP: SIP{TLS: &TLS{MinVersion: "1.3", CAFile: "/dev/null"}, AckTimeout: time.Second,
			Limits: &Limits{MaxCalls: 1, RetryAfter: 7 * time.Second}},
		Carrier:       Trunk{Sources: []string{"127.0.0.2/32"}, MutualTLS: true, InboundAuth: &Digest{"u", "p"}},
		ContactCenter: Trunk{Targets: []string{"127.0.0.1:5061"}, SIPS: true, Health: M{"interval": "10s", "ping": false}},
		API:           API{Keys: []APIKey{Key("desk", "k", "agent")}},
		CaptureConfig: M{"delivery": M{"token_dtmf": true}},
	}
	y, err := o.YAML()
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Parse("test", y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if got := c.SIP.Listeners[0]; got.Name != "carrier" || got.Transport != "tls" || got.Address != "127.0.0.1:0" {
		t.Errorf("carrier listener %+v", got)
	}
	cr, cc := c.Trunks[0], c.Trunks[1]
	if !cr.MutualTLS || !slices.Equal(cr.Sources, []string{"127.0.0.2/32"}) || cr.InboundAuth.Username != "u" {
		t.Errorf("carrier trunk %+v", cr)
	}
	if !slices.Equal(cc.Targets, []string{"sips:127.0.0.1:5061"}) {
		t.Errorf("contact-center targets %v", cc.Targets)
	}
	if h := cc.Health; h.Interval != 10*time.Second || h.Ping == nil || *h.Ping {
		t.Errorf("contact-center health %+v", h)
	}
	if c.SIP.AckTimeout != time.Second || c.SIP.Limits.MaxCalls != 1 || c.SIP.Limits.RetryAfter != 7*time.Second || c.SIP.TLS.MinVersion != "1.3" {
		t.Errorf("sip section %+v", c.SIP)
	}
	if c.Routes[0].Capture != "always" || len(c.API.Keys) != 1 || !c.Capture.Delivery.TokenDTMF {
		t.Errorf("routes %+v, api %+v, capture %+v", c.Routes, c.API, c.Capture)
	}
}

// TestTargetsCarryTransport: plain targets name the transport unless UDP.
func TestTargetsCarryTransport(t *testing.T) {
	for tp, want := range map[string]string{"udp": "sip:127.0.0.1:5060", "tcp": "sip:127.0.0.1:5060;transport=tcp"} {
		got := Trunk{Targets: []string{"127.0.0.1:5060"}}.render("contact_center", tp).Targets
		if !slices.Equal(got, []string{want}) {
			t.Errorf("%s: targets %v, want %s", tp, got, want)
		}
	}
}
