package sip

import (
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/config"
	"github.com/tonewall/tonewall/internal/media"
)

// trunk is a configured peer with its parsed fields.
type trunk struct {
	cfg      config.Trunk
	listener *listener
	sources  []netip.Prefix
	targets  []sip.Uri
	route    *route // where its calls go; nil if it only receives
}

type route struct {
	to      *trunk
	capture string
}

// listener is a configured SIP socket.
type listener struct {
	cfg       config.Listener
	addr      netip.AddrPort // bound address (port filled after bind when 0)
	advertise sip.Uri        // host:port for Via/Contact
}

func (t *trunk) role() media.Leg {
	if t.cfg.Role == "carrier" {
		return media.Carrier
	}
	return media.ContactCenter
}

func (t *trunk) policy() media.LegPolicy {
	return media.LegPolicy{
		Trunk:       t.cfg.Name,
		SRTP:        t.cfg.SRTP,
		Suites:      t.cfg.SRTPSuites,
		KeyExchange: t.cfg.KeyExchange,
		DTMF:        t.cfg.DTMF,
		Codecs:      preferG711(t.cfg.Codecs, t.cfg.DTMF == "inband"),
		Latch:       t.cfg.Latch,
	}
}

// preferG711 moves PCMU and PCMA to the front of a trunk's codec list when
// its DTMF is in-band: tones can only be detected (and masked) in G.711.
func preferG711(codecs []string, inband bool) []string {
	if !inband || len(codecs) == 0 {
		return codecs
	}
	out := make([]string, 0, len(codecs))
	for _, c := range codecs {
		if strings.EqualFold(c, "PCMU") || strings.EqualFold(c, "PCMA") {
			out = append(out, c)
		}
	}
	for _, c := range codecs {
		if !strings.EqualFold(c, "PCMU") && !strings.EqualFold(c, "PCMA") {
			out = append(out, c)
		}
	}
	return out
}

// allows reports whether a source address belongs to the trunk.
func (t *trunk) allows(src netip.Addr) bool {
	for _, p := range t.sources {
		if p.Contains(src.Unmap()) {
			return true
		}
	}
	return false
}

func buildTrunks(cfg *config.Config, ls map[string]*listener) ([]*trunk, error) {
	byName := map[string]*trunk{}
	var out []*trunk
	for _, tc := range cfg.Trunks {
		t := &trunk{cfg: tc, listener: ls[tc.Listener]}
		for _, s := range tc.Sources {
			t.sources = append(t.sources, netip.MustParsePrefix(s)) // validated by config
		}
		for _, s := range tc.Targets {
			var u sip.Uri
			if err := sip.ParseUri(s, &u); err != nil {
				return nil, err
			}
			t.targets = append(t.targets, u)
		}
		byName[tc.Name] = t
		out = append(out, t)
	}
	for _, r := range cfg.Routes {
		byName[r.From].route = &route{to: byName[r.To], capture: r.Capture}
	}
	return out, nil
}

// matchTrunk finds the trunk a request belongs to: the listener it arrived
// on and its source address.
func matchTrunk(trunks []*trunk, l *listener, src netip.Addr) *trunk {
	for _, t := range trunks {
		if t.listener == l && t.allows(src) {
			return t
		}
	}
	return nil
}
