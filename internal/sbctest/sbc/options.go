package sbc

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Options is the configuration of a test tonewall: two listeners, carrier
// and contact_center, each with its trunk; a route from the carrier to the
// contact center, and one back when the carrier trunk has targets. Zero
// fields leave tonewall's defaults, except where said.
type Options struct {
	Transport     string // of both listeners: udp (the default), tcp or tls
	CarrierAddr   string // the carrier listener's address; default 127.0.0.1:0
	CCAddr        string // the contact-center listener's address; default 127.0.0.1:0
	SIP           SIP
	Carrier       Trunk
	ContactCenter Trunk
	Capture       string // capture policy of the carrier → contact-center route; default api
	Media         Media  // default: 127.0.0.1, ports 30000-39999, 10 ms drain
	API           API
	CaptureConfig M      // the capture: section
	Vault         M      // the vault: section; default the local vault in DataDir
	CDR           M      // the cdr: section; default none: no call records
	DataDir       string // vault store and audit log; Start sets it to a test directory
	LogLevel      string // debug | info | warn | error
}

// M is a free-form section of the configuration, as YAML maps it.
type M = map[string]any

// SIP is the sip: section, less the listeners.
type SIP struct {
	TLS            *TLS          `yaml:"tls,omitempty"` // default: no TLS section
	InviteTimeout  time.Duration `yaml:"invite_timeout,omitempty"`
	RingTimeout    time.Duration `yaml:"ring_timeout,omitempty"`
	DrainTimeout   time.Duration `yaml:"drain_timeout,omitempty"`
	AckTimeout     time.Duration `yaml:"ack_timeout,omitempty"`
	HeaderPass     []string      `yaml:"header_pass,omitempty"`
	UnknownSources string        `yaml:"unknown_sources,omitempty"`
	Limits         *Limits       `yaml:"limits,omitempty"`
}

// TLS is sip.tls.
type TLS struct {
	CertFile     string `yaml:"cert_file,omitempty"`
	KeyFile      string `yaml:"key_file,omitempty"`
	CAFile       string `yaml:"ca_file,omitempty"`
	MinVersion   string `yaml:"min_version,omitempty"`
	VerifyServer bool   `yaml:"verify_server"` // false unless set: test peers' certificates are self-signed
}

// Limits is sip.limits.
type Limits struct {
	MaxCalls    int           `yaml:"max_calls,omitempty"`
	RetryAfter  time.Duration `yaml:"retry_after,omitempty"`
	SourceRate  float64       `yaml:"source_rate,omitempty"`
	SourceBurst int           `yaml:"source_burst,omitempty"`
	SourceBlock time.Duration `yaml:"source_block,omitempty"`
}

// Trunk is what a test sets of a trunk; its name, role and listener are
// fixed.
type Trunk struct {
	Sources      []string // CIDRs; default 127.0.0.0/8
	Targets      []string // host:port, written as sip: URIs with the transport
	SIPS         bool     // write Targets as sips: URIs
	MutualTLS    bool
	InboundAuth  *Digest
	OutboundAuth *Digest
	SRTP         string
	KeyExchange  string
	MaxCalls     int
	Health       M // the trunk's health: section (OPTIONS pings of its targets)
}

// Digest is a trunk's credentials.
type Digest struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Media is the media: section.
type Media struct {
	Address    string        `yaml:"address"`
	PortMin    int           `yaml:"port_min"`
	PortMax    int           `yaml:"port_max"`
	Drain      time.Duration `yaml:"drain,omitempty"`
	Inactivity time.Duration `yaml:"inactivity,omitempty"`
}

// API is the api: section; its address is 127.0.0.1:0 unless set.
type API struct {
	Address string   `yaml:"address"`
	Keys    []APIKey `yaml:"keys,omitempty"`
}

// APIKey is one bearer key, by its hash.
type APIKey struct {
	Name   string `yaml:"name"`
	SHA256 string `yaml:"sha256"`
	Role   string `yaml:"role"`
}

// Key is the API key entry for a plain key.
func Key(name, key, role string) APIKey {
	sum := sha256.Sum256([]byte(key))
	return APIKey{Name: name, SHA256: hex.EncodeToString(sum[:]), Role: role}
}
