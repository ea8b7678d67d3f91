package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/vault"
)

func (c *Config) validate() error {
	for _, f := range []func() error{c.SIP.validate, c.validateMedia, c.validateTrunks, c.validateRoutes,
		c.validateParts, c.API.validate, c.Log.validate} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// validateParts runs the Validate of each part's own config section.
func (c *Config) validateParts() error {
	if err := c.Capture.Validate(); err != nil {
		return fieldErr("capture", "%v", err)
	}
	if err := c.Vault.Validate(); err != nil {
		var ke *vault.KeyError
		if errors.As(err, &ke) {
			return fieldErr(ke.Key, "%s", ke.Msg)
		}
		return fieldErr("vault", "%v", err)
	}
	if err := c.Audit.Validate(); err != nil {
		return fieldErr("audit", "%v", err)
	}
	return nil
}

func (c *Config) validateMedia() error {
	if err := c.Media.Validate(); err != nil {
		return fieldErr("media", "%v", err)
	}
	return nil
}

func (s *SIP) validate() error {
	if s.UserAgent == nil {
		ua := "tonewall"
		s.UserAgent = &ua
	}
	switch s.UnknownSources {
	case "":
		s.UnknownSources = "drop"
	case "drop", "reject":
	default:
		return fieldErr("sip.unknown_sources", "must be drop or reject, not %q", s.UnknownSources)
	}
	if s.ScannerAgents == nil {
		s.ScannerAgents = DefaultScannerAgents
	}
	if err := s.Limits.validate(); err != nil {
		return err
	}
	if s.MaxForwards == 0 {
		s.MaxForwards = 70
	}
	setDuration(&s.InviteTimeout, 4*time.Second)
	setDuration(&s.AckTimeout, 32*time.Second)
	setDuration(&s.RingTimeout, 180*time.Second)
	setDuration(&s.DrainTimeout, 30*time.Second)
	if len(s.Listeners) == 0 {
		return fieldErr("sip.listeners", "at least one listener is required")
	}
	seen := map[string]bool{}
	for i := range s.Listeners {
		l := &s.Listeners[i]
		p := fmt.Sprintf("sip.listeners[%d]", i)
		if err := l.validate(p); err != nil {
			return err
		}
		if seen[l.Name] {
			return fieldErr(p+".name", "duplicate listener name %q", l.Name)
		}
		seen[l.Name] = true
	}
	if err := s.validatePass(); err != nil {
		return err
	}
	return s.TLS.validate()
}

// coreHeaders never cross between legs: they are each dialog's own.
var coreHeaders = []string{"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "contact", "m",
	"record-route", "route", "max-forwards", "content-length", "l", "content-type", "c", "x-tonewall-call-id"}

func (s *SIP) validatePass() error {
	for i, h := range s.HeaderPass {
		for _, c := range coreHeaders {
			if strings.EqualFold(strings.TrimSuffix(h, "*"), c) || h == "*" {
				return fieldErr(fmt.Sprintf("sip.header_pass[%d]", i), "%q is a header each leg keeps to itself", h)
			}
		}
	}
	return nil
}

// DefaultScannerAgents are User-Agent substrings of SIP scanners and
// war-dialers seen at trunk edges.
var DefaultScannerAgents = []string{"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipscan", "sundayddr",
	"iwar", "vaxsipuseragent", "smap", "pplsip", "sipsak", "nmap"}

func (l *Limits) validate() error {
	setInt(&l.MaxCalls, 1000)
	setInt(&l.MaxConnections, 1024)
	setInt(&l.MaxConnsPerSource, 32)
	setInt(&l.MaxSources, 65536)
	setDuration(&l.HandshakeTimeout, 5*time.Second)
	setDuration(&l.MessageTimeout, 10*time.Second)
	setDuration(&l.IdleTimeout, 60*time.Second)
	setDuration(&l.SourceBlock, 10*time.Second)
	if l.SourceRate == 0 {
		l.SourceRate = 2000
	}
	if l.SourceBurst == 0 {
		l.SourceBurst = int(2 * l.SourceRate)
	}
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
			return fieldErr("sip.limits."+c.key, "must not be negative")
		}
	}
	return nil
}

func isTLSListener(ls []Listener, name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return l.Transport == "tls"
		}
	}
	return false
}

func setInt(n *int, def int) {
	if *n == 0 {
		*n = def
	}
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

func (l *Listener) validate(p string) error {
	if l.Name == "" {
		return fieldErr(p+".name", "required")
	}
	switch l.Transport {
	case "udp", "tcp", "tls":
	default:
		return fieldErr(p+".transport", "must be udp, tcp or tls, not %q", l.Transport)
	}
	if _, err := netip.ParseAddrPort(l.Address); err != nil {
		return fieldErr(p+".address", "want ip:port: %v", err)
	}
	if l.Advertise == "" {
		l.Advertise = l.Address
	}
	return nil
}

func (t *TLS) validate() error {
	switch t.MinVersion {
	case "":
		t.MinVersion = "1.2"
	case "1.2", "1.3":
	default:
		return fieldErr("sip.tls.min_version", "must be \"1.2\" or \"1.3\", not %q", t.MinVersion)
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fieldErr("sip.tls", "cert_file and key_file go together")
	}
	if t.VerifyServer == nil {
		v := true
		t.VerifyServer = &v
	}
	return nil
}

func (c *Config) validateTrunks() error {
	names := map[string]bool{}
	for i := range c.Trunks {
		t := &c.Trunks[i]
		p := fmt.Sprintf("trunks[%d]", i)
		if t.MutualTLS && c.SIP.TLS.CAFile == "" {
			return fieldErr(p+".mutual_tls", "needs sip.tls.ca_file: client certificates are checked against the configured CAs only")
		}
		if err := t.validate(p, c.SIP.Listeners); err != nil {
			return err
		}
		if names[t.Name] {
			return fieldErr(p+".name", "duplicate trunk name %q", t.Name)
		}
		names[t.Name] = true
	}
	return nil
}

func (t *Trunk) validate(p string, ls []Listener) error {
	if t.Name == "" {
		return fieldErr(p+".name", "required")
	}
	if t.Role != "carrier" && t.Role != "contact_center" {
		return fieldErr(p+".role", "must be carrier or contact_center, not %q", t.Role)
	}
	if !hasListener(ls, t.Listener) {
		return fieldErr(p+".listener", "no listener named %q", t.Listener)
	}
	for j, s := range t.Sources {
		if _, err := netip.ParsePrefix(s); err != nil {
			return fieldErr(fmt.Sprintf("%s.sources[%d]", p, j), "want a CIDR such as 10.0.0.0/24: %v", err)
		}
	}
	for j, s := range t.Targets {
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil || u.Host == "" {
			return fieldErr(fmt.Sprintf("%s.targets[%d]", p, j), "want a SIP URI such as sip:10.0.0.5:5060;transport=tcp")
		}
	}
	if err := t.validateMedia(p); err != nil {
		return err
	}
	if t.MutualTLS && !isTLSListener(ls, t.Listener) {
		return fieldErr(p+".mutual_tls", "needs a tls listener, and %q is not one", t.Listener)
	}
	if t.MaxCalls < 0 {
		return fieldErr(p+".max_calls", "must not be negative")
	}
	if t.CallsPerSec < 0 {
		return fieldErr(p+".calls_per_second", "must not be negative")
	}
	return t.validateAuth(p)
}

func (t *Trunk) validateMedia(p string) error {
	if err := oneOf(p+".srtp", &t.SRTP, "off", "optional", "required"); err != nil {
		return err
	}
	if err := oneOf(p+".key_exchange", &t.KeyExchange, "sdes", "dtls"); err != nil {
		return err
	}
	if err := oneOf(p+".dtmf", &t.DTMF, "rfc4733", "inband", "info"); err != nil {
		return err
	}
	if t.DTMF == "inband" && len(t.Codecs) > 0 && !hasG711(t.Codecs) {
		return fieldErr(p+".codecs", "dtmf: inband needs PCMU or PCMA among the codecs: tones are read from G.711 audio")
	}
	for j, s := range t.SRTPSuites {
		switch s {
		case "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM":
		default:
			return fieldErr(fmt.Sprintf("%s.srtp_suites[%d]", p, j), "unsupported suite %q", s)
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
			return fieldErr(p+"."+name, "username and password are required")
		}
		if d.Realm == "" {
			d.Realm = "tonewall"
		}
	}
	return nil
}

func hasG711(codecs []string) bool {
	for _, c := range codecs {
		if strings.EqualFold(c, "PCMU") || strings.EqualFold(c, "PCMA") {
			return true
		}
	}
	return false
}

// oneOf checks *v against allowed values; empty takes the first.
func oneOf(path string, v *string, allowed ...string) error {
	if *v == "" {
		*v = allowed[0]
		return nil
	}
	for _, a := range allowed {
		if *v == a {
			return nil
		}
	}
	return fieldErr(path, "must be one of %s, not %q", strings.Join(allowed, ", "), *v)
}

func hasListener(ls []Listener, name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
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
	for i := range c.Routes {
		r := &c.Routes[i]
		p := fmt.Sprintf("routes[%d]", i)
		src, dst := c.trunk(r.From), c.trunk(r.To)
		if src == nil {
			return fieldErr(p+".from", "no trunk named %q", r.From)
		}
		if dst == nil {
			return fieldErr(p+".to", "no trunk named %q", r.To)
		}
		if src.Role == dst.Role {
			return fieldErr(p, "a route joins a carrier and a contact center; both are %s", src.Role)
		}
		if len(dst.Targets) == 0 {
			return fieldErr(p+".to", "trunk %q has no targets to send calls to", r.To)
		}
		if from[r.From] {
			return fieldErr(p+".from", "trunk %q already has a route", r.From)
		}
		from[r.From] = true
		if err := oneOf(p+".capture", &r.Capture, "api", "always", "off"); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) validate() error {
	if a.Address == "" {
		a.Address = "127.0.0.1:8080"
	}
	if _, err := netip.ParseAddrPort(a.Address); err != nil {
		return fieldErr("api.address", "want ip:port: %v", err)
	}
	if err := a.validateBounds(); err != nil {
		return err
	}
	for i, k := range a.Keys {
		p := fmt.Sprintf("api.keys[%d]", i)
		if k.Name == "" {
			return fieldErr(p+".name", "required")
		}
		if len(k.SHA256) != 64 || strings.Trim(strings.ToLower(k.SHA256), "0123456789abcdef") != "" {
			return fieldErr(p+".sha256", "want the 64 hex digits of the key's SHA-256, not the key")
		}
		if err := oneOf(p+".role", &a.Keys[i].Role, "agent", "supervisor", "auditor", "admin"); err != nil {
			return err
		}
	}
	return nil
}

// SetDefaults fills the bounds left zero with their defaults. Validation
// calls it; so does the API for a config that did not go through it.
func (a *API) SetDefaults() {
	setInt(&a.MaxConnections, 256)
	setInt(&a.MaxHeaderBytes, 16<<10)
	setDuration(&a.ReadHeaderTimeout, 5*time.Second)
	setDuration(&a.ReadTimeout, 15*time.Second)
	setDuration(&a.WriteTimeout, 30*time.Second)
	setDuration(&a.IdleTimeout, 60*time.Second)
	setInt(&a.MaxEventStreams, 64)
	setInt(&a.MaxEventStreamsPerKey, 4)
}

// validateBounds refuses negative bounds and a per-key stream cap above
// the total, after filling defaults.
func (a *API) validateBounds() error {
	a.SetDefaults()
	for _, n := range []struct {
		key string
		v   int
	}{{"max_connections", a.MaxConnections}, {"max_header_bytes", a.MaxHeaderBytes},
		{"max_event_streams", a.MaxEventStreams}, {"max_event_streams_per_key", a.MaxEventStreamsPerKey}} {
		if n.v < 0 {
			return fieldErr("api."+n.key, "must be positive (0 takes the default), not %d", n.v)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", a.ReadHeaderTimeout}, {"read_timeout", a.ReadTimeout},
		{"write_timeout", a.WriteTimeout}, {"idle_timeout", a.IdleTimeout}} {
		if d.v < 0 {
			return fieldErr("api."+d.key, "must be a positive duration such as 5s, not %v", d.v)
		}
	}
	if a.MaxEventStreamsPerKey > a.MaxEventStreams {
		return fieldErr("api.max_event_streams_per_key", "%d is more than api.max_event_streams (%d)", a.MaxEventStreamsPerKey, a.MaxEventStreams)
	}
	if a.ReadHeaderTimeout > a.ReadTimeout {
		return fieldErr("api.read_header_timeout", "%v is longer than api.read_timeout (%v), which includes it", a.ReadHeaderTimeout, a.ReadTimeout)
	}
	return nil
}

func (l *Log) validate() error {
	if err := oneOf("log.level", &l.Level, "info", "debug", "warn", "error"); err != nil {
		return err
	}
	return oneOf("log.format", &l.Format, "json", "console")
}
