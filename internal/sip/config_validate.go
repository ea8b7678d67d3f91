package sip

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/config"
)

// Validate fills defaults and checks the sections, then what joins them:
// every trunk names a listener, mutual TLS has CAs to check against, every
// route joins two existing trunks. Its errors are *config.FieldError.
func (c *Config) Validate() error {
	if err := c.SIP.Validate(); err != nil {
		return err
	}
	if err := c.validateTrunks(); err != nil {
		return err
	}
	return c.validateRoutes()
}

// Validate fills defaults and checks the `sip` section on its own.
func (s *Settings) Validate() error {
	if s.UserAgent == nil {
		ua := "tonewall"
		s.UserAgent = &ua
	}
	if err := config.OneOf("sip.unknown_sources", &s.UnknownSources, "drop", "reject"); err != nil {
		return err
	}
	if s.ScannerAgents == nil {
		s.ScannerAgents = DefaultScannerAgents
	}
	if err := s.Limits.Validate(); err != nil {
		return err
	}
	if err := s.Health.validate("sip.health"); err != nil {
		return err
	}
	config.Default(&s.MaxForwards, 70)
	config.Default(&s.InviteTimeout, 4*time.Second)
	config.Default(&s.AckTimeout, 32*time.Second)
	config.Default(&s.RingTimeout, 180*time.Second)
	config.Default(&s.DrainTimeout, 30*time.Second)
	if err := s.validateListeners(); err != nil {
		return err
	}
	if err := s.validatePass(); err != nil {
		return err
	}
	return s.TLS.validate()
}

func (s *Settings) validateListeners() error {
	if len(s.Listeners) == 0 {
		return config.Errorf("sip.listeners", "at least one listener is required")
	}
	seen := map[string]bool{}
	return config.Each("sip.listeners", s.Listeners, func(p string, l *Listener) error {
		if err := l.validate(p); err != nil {
			return err
		}
		if seen[l.Name] {
			return config.Errorf(p+".name", "duplicate listener name %q", l.Name)
		}
		seen[l.Name] = true
		return nil
	})
}

// coreHeaders never cross between legs: they are each dialog's own.
var coreHeaders = []string{"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "contact", "m",
	"record-route", "route", "max-forwards", "content-length", "l", "content-type", "c", "x-tonewall-call-id"}

func (s *Settings) validatePass() error {
	for i, h := range s.HeaderPass {
		for _, c := range coreHeaders {
			if strings.EqualFold(strings.TrimSuffix(h, "*"), c) || h == "*" {
				return config.Errorf(fmt.Sprintf("sip.header_pass[%d]", i), "%q is a header each leg keeps to itself", h)
			}
		}
	}
	return nil
}

// DefaultScannerAgents are User-Agent substrings of SIP scanners and
// war-dialers seen at trunk edges.
var DefaultScannerAgents = []string{"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipscan", "sundayddr",
	"iwar", "vaxsipuseragent", "smap", "pplsip", "sipsak", "nmap"}

// Validate fills defaults and checks `sip.limits`.
func (l *Limits) Validate() error {
	config.Default(&l.MaxCalls, 1000)
	config.Default(&l.MaxConnections, 1024)
	config.Default(&l.MaxConnsPerSource, 32)
	config.Default(&l.MaxSources, 65536)
	config.Default(&l.HandshakeTimeout, 5*time.Second)
	config.Default(&l.MessageTimeout, 10*time.Second)
	config.Default(&l.IdleTimeout, 60*time.Second)
	config.Default(&l.SourceBlock, 10*time.Second)
	config.Default(&l.SourceRate, 2000)
	config.Default(&l.SourceBurst, int(2*l.SourceRate))
	for _, c := range []struct {
		key string
		bad bool
	}{
		{"max_calls", l.MaxCalls < 0}, {"max_connections", l.MaxConnections < 0},
		{"max_connections_per_source", l.MaxConnsPerSource < 0}, {"max_sources", l.MaxSources < 0},
		{"retry_after", l.RetryAfter < 0}, {"handshake_timeout", l.HandshakeTimeout < 0},
		{"message_timeout", l.MessageTimeout < 0}, {"idle_timeout", l.IdleTimeout < 0},
		{"source_block", l.SourceBlock < 0},
	} {
		if c.bad {
			return config.Errorf("sip.limits."+c.key, "must not be negative")
		}
	}
	return nil
}

func (l *Listener) validate(p string) error {
	if l.Name == "" {
		return config.Errorf(p+".name", "required")
	}
	switch l.Transport {
	case "udp", "tcp", "tls":
	default:
		return config.Errorf(p+".transport", "must be udp, tcp or tls, not %q", l.Transport)
	}
	if _, err := netip.ParseAddrPort(l.Address); err != nil {
		return config.Errorf(p+".address", "want ip:port: %v", err)
	}
	if l.Advertise == "" {
		l.Advertise = l.Address
	}
	return nil
}

func (t *TLS) validate() error {
	if err := config.OneOf("sip.tls.min_version", &t.MinVersion, "1.2", "1.3"); err != nil {
		return err
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return config.Errorf("sip.tls", "cert_file and key_file go together")
	}
	if t.VerifyServer == nil {
		v := true
		t.VerifyServer = &v
	}
	return nil
}

func (c *Config) validateTrunks() error {
	names := map[string]bool{}
	return config.Each("trunks", c.Trunks, func(p string, t *Trunk) error {
		if t.MutualTLS && c.SIP.TLS.CAFile == "" {
			return config.Errorf(p+".mutual_tls", "needs sip.tls.ca_file: client certificates are checked against the configured CAs only")
		}
		if err := t.validate(p, c.SIP.Listeners); err != nil {
			return err
		}
		t.Health.inherit(c.SIP.Health)
		if err := t.Health.validate(p + ".health"); err != nil {
			return err
		}
		if names[t.Name] {
			return config.Errorf(p+".name", "duplicate trunk name %q", t.Name)
		}
		names[t.Name] = true
		return nil
	})
}

func (t *Trunk) validate(p string, ls []Listener) error {
	if t.Name == "" {
		return config.Errorf(p+".name", "required")
	}
	if t.Role != "carrier" && t.Role != "contact_center" {
		return config.Errorf(p+".role", "must be carrier or contact_center, not %q", t.Role)
	}
	l := findListener(ls, t.Listener)
	if l == nil {
		return config.Errorf(p+".listener", "no listener named %q", t.Listener)
	}
	if err := t.validateAddresses(p); err != nil {
		return err
	}
	t.Media.Trunk = t.Name
	if err := t.Media.Validate(); err != nil {
		return config.Within(p, err)
	}
	if t.MutualTLS && l.Transport != "tls" {
		return config.Errorf(p+".mutual_tls", "needs a tls listener, and %q is not one", t.Listener)
	}
	if t.MaxCalls < 0 {
		return config.Errorf(p+".max_calls", "must not be negative")
	}
	if t.CallsPerSec < 0 {
		return config.Errorf(p+".calls_per_second", "must not be negative")
	}
	return t.validateAuth(p)
}

func (t *Trunk) validateAddresses(p string) error {
	for j, s := range t.Sources {
		if _, err := netip.ParsePrefix(s); err != nil {
			return config.Errorf(fmt.Sprintf("%s.sources[%d]", p, j), "want a CIDR such as 10.0.0.0/24: %v", err)
		}
	}
	for j, s := range t.Targets {
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil || u.Host == "" {
			return config.Errorf(fmt.Sprintf("%s.targets[%d]", p, j), "want a SIP URI such as sip:10.0.0.5:5060;transport=tcp")
		}
	}
	return nil
}

func (t *Trunk) validateAuth(p string) error {
	for name, d := range map[string]*Digest{"inbound_auth": t.InboundAuth, "outbound_auth": t.OutboundAuth} {
		if d == nil {
			continue
		}
		if d.Username == "" || d.Password == "" {
			return config.Errorf(p+"."+name, "username and password are required")
		}
		config.Default(&d.Realm, "tonewall")
	}
	return nil
}

func findListener(ls []Listener, name string) *Listener {
	for i := range ls {
		if ls[i].Name == name {
			return &ls[i]
		}
	}
	return nil
}

func (c *Config) trunk(name string) *Trunk {
	for i := range c.Trunks {
		if c.Trunks[i].Name == name {
			return &c.Trunks[i]
		}
	}
	return nil
}

func (c *Config) validateRoutes() error {
	from := map[string]bool{}
	return config.Each("routes", c.Routes, func(p string, r *Route) error {
		src, dst := c.trunk(r.From), c.trunk(r.To)
		if src == nil {
			return config.Errorf(p+".from", "no trunk named %q", r.From)
		}
		if dst == nil {
			return config.Errorf(p+".to", "no trunk named %q", r.To)
		}
		if src.Role == dst.Role {
			return config.Errorf(p, "a route joins a carrier and a contact center; both are %s", src.Role)
		}
		if len(dst.Targets) == 0 {
			return config.Errorf(p+".to", "trunk %q has no targets to send calls to", r.To)
		}
		if from[r.From] {
			return config.Errorf(p+".from", "trunk %q already has a route", r.From)
		}
		from[r.From] = true
		return config.OneOf(p+".capture", &r.Capture, "api", "always", "off")
	})
}
