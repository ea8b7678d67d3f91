package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/media"
)

// trunk is a configured peer with its parsed fields.
type trunk struct {
	cfg      Trunk
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
	cfg       Listener
	addr      netip.AddrPort // bound address (port filled after bind when 0)
	advertise sip.Uri        // host:port for Via/Contact
}

func (t *trunk) role() media.Side {
	if t.cfg.Role == "carrier" {
		return media.Carrier
	}
	return media.ContactCenter
}

// policy is the trunk's media policy, validated with the configuration.
func (t *trunk) policy() media.LegPolicy { return t.cfg.Media }

// allows reports whether a source address belongs to the trunk.
func (t *trunk) allows(src netip.Addr) bool {
	for _, p := range t.sources {
		if p.Contains(src.Unmap()) {
			return true
		}
	}
	return false
}

func buildTrunks(cfg *Config, ls map[string]*listener) ([]*trunk, error) {
	byName := map[string]*trunk{}
	var out []*trunk
	for _, tc := range cfg.Trunks {
		t := &trunk{cfg: tc, listener: ls[tc.Listener]}
		for _, s := range tc.Sources {
			t.sources = append(t.sources, netip.MustParsePrefix(s)) // validated by Config.Validate
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
