package sip

// TrunkInfo is a trunk's security posture as an auditor checks it, with
// its targets' health. It holds no credential: only whether digest
// authentication is configured each way.
type TrunkInfo struct {
	Name         string         `json:"name"`
	Role         string         `json:"role"` // carrier | contact_center
	Listener     ListenerInfo   `json:"listener"`
	TLS          *TLSInfo       `json:"tls,omitempty"` // on a tls listener only
	SRTP         SRTPInfo       `json:"srtp"`
	DTMF         string         `json:"dtmf"`            // rfc4733 | inband | info
	Codecs       []string       `json:"codecs"`          // allowed, preferred first; empty: any
	Route        *RouteInfo     `json:"route,omitempty"` // where its calls go; absent: it only receives
	InboundAuth  bool           `json:"inbound_auth"`    // its INVITEs are challenged
	OutboundAuth bool           `json:"outbound_auth"`   // tonewall answers its challenges
	Limits       TrunkLimits    `json:"limits"`
	Sources      []string       `json:"sources"`
	Health       HealthInfo     `json:"health"`
	Targets      []TargetHealth `json:"targets"`
}

// ListenerInfo is the socket a trunk's requests arrive on and its own leave from.
type ListenerInfo struct {
	Name      string `json:"name"`
	Transport string `json:"transport"` // udp | tcp | tls
	Address   string `json:"address"`   // as bound
}

// TLSInfo is what protects a trunk's signalling on a tls listener.
type TLSInfo struct {
	MinVersion   string `json:"min_version"`   // 1.2 | 1.3
	MutualTLS    bool   `json:"mutual_tls"`    // the trunk must present a certificate from sip.tls.ca_file
	VerifyServer bool   `json:"verify_server"` // tonewall checks the certificates of the targets it calls
}

// SRTPInfo is a trunk's media protection.
type SRTPInfo struct {
	Mode        string   `json:"mode"`         // off | optional | required
	Suites      []string `json:"suites"`       // SDES suites in preference order
	KeyExchange string   `json:"key_exchange"` // sdes | dtls
}

// RouteInfo is the route of the calls arriving on a trunk.
type RouteInfo struct {
	To      string `json:"to"`
	Capture string `json:"capture"` // api | always | off
}

// TrunkLimits are a trunk's own call caps; 0 is none.
type TrunkLimits struct {
	MaxCalls       int     `json:"max_calls"`
	CallsPerSecond float64 `json:"calls_per_second"`
}

// HealthInfo is how a trunk's targets are pinged.
type HealthInfo struct {
	Ping      bool    `json:"ping"`
	IntervalS float64 `json:"interval_s"`
	TimeoutS  float64 `json:"timeout_s"`
	Failures  int     `json:"failures"`
	Successes int     `json:"successes"`
}

// Trunks is the posture and health of every trunk, in configuration order;
// none before Run has built them.
func (s *Server) Trunks() []TrunkInfo {
	tbl := s.table()
	if tbl == nil {
		return nil
	}
	out := make([]TrunkInfo, 0, len(tbl.trunks))
	for _, t := range tbl.trunks {
		out = append(out, s.trunkInfo(t))
	}
	return out
}

func (s *Server) trunkInfo(t *trunk) TrunkInfo {
	c, pol := t.cfg, t.policy()
	ti := TrunkInfo{Name: c.Name, Role: c.Role,
		Listener: ListenerInfo{Name: t.listener.cfg.Name, Transport: t.listener.cfg.Transport, Address: t.listener.addr.String()},
		SRTP:     SRTPInfo{Mode: string(pol.SRTP), Suites: nonNil(pol.Suites), KeyExchange: string(pol.KeyExchange)},
		DTMF:     string(pol.DTMF), Codecs: nonNil(pol.Codecs),
		InboundAuth: c.InboundAuth != nil, OutboundAuth: c.OutboundAuth != nil,
		Limits:  TrunkLimits{MaxCalls: c.MaxCalls, CallsPerSecond: c.CallsPerSec},
		Sources: nonNil(c.Sources),
		Health: HealthInfo{Ping: c.Health.pings(), IntervalS: c.Health.Interval.Seconds(), TimeoutS: c.Health.Timeout.Seconds(),
			Failures: c.Health.Failures, Successes: c.Health.Successes},
		Targets: s.health.snapshot(t),
	}
	if t.listener.cfg.Transport == "tls" {
		tc := s.cfg.SIP.TLS
		ti.TLS = &TLSInfo{MinVersion: tc.MinVersion, MutualTLS: c.MutualTLS, VerifyServer: tc.VerifyServer == nil || *tc.VerifyServer}
	}
	if t.route != nil {
		ti.Route = &RouteInfo{To: t.route.to.cfg.Name, Capture: t.route.capture}
	}
	return ti
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
