package sip

import (
	"time"

	"github.com/tonewall/tonewall/internal/media"
)

// Config is what the B2BUA reads from tonewall.yaml: the `sip`, `trunks`
// and `routes` sections. Validate fills defaults and checks them, the
// references between them included.
type Config struct {
	SIP    Settings `yaml:"sip"`
	Trunks []Trunk  `yaml:"trunks"`
	Routes []Route  `yaml:"routes"`
}

// Settings is the `sip` section: listeners, TLS and B2BUA behaviour.
type Settings struct {
	Listeners     []Listener    `yaml:"listeners"`
	TLS           TLS           `yaml:"tls"`
	UserAgent     *string       `yaml:"user_agent"`     // Server/User-Agent header value; default "tonewall"; "" sends none
	MaxForwards   int           `yaml:"max_forwards"`   // Max-Forwards on requests tonewall originates; default 70
	HeaderPass    []string      `yaml:"header_pass"`    // headers relayed between legs; a trailing * matches a prefix
	InviteTimeout time.Duration `yaml:"invite_timeout"` // no response at all from a target this long: try the next; default 4s
	RingTimeout   time.Duration `yaml:"ring_timeout"`   // a ringing call unanswered this long is cancelled; default 180s
	DrainTimeout  time.Duration `yaml:"drain_timeout"`  // on SIGTERM, calls get this long to end before BYE; default 30s
	AckTimeout    time.Duration `yaml:"ack_timeout"`    // a 2xx never ACKed this long ends the call on both legs; default 32s (64*T1)
	// UnknownSources says what a request from no trunk gets: "drop"
	// (default: nothing at all) or "reject" (one 403, sent once, never
	// larger than the request).
	UnknownSources string   `yaml:"unknown_sources"`
	ScannerAgents  []string `yaml:"scanner_user_agents"` // User-Agent substrings dropped unanswered (case-insensitive); default: known scanners
	Limits         Limits   `yaml:"limits"`
	Health         Health   `yaml:"health"` // OPTIONS pings of every trunk's targets; a trunk's own health overrides it key by key
}

// Health is `sip.health` and a trunk's `health`: tonewall pings each target
// with OPTIONS, and routing skips a target that stopped answering. Alive is
// any final answer but 408 and 503; down is Failures pings in a row without
// one (no answer within Timeout, a transport error, a 408 or a 503).
type Health struct {
	Ping      *bool         `yaml:"ping"`      // send the pings; default true; false: every target counts as up
	Interval  time.Duration `yaml:"interval"`  // from one ping of a target to the next; default 30s
	Timeout   time.Duration `yaml:"timeout"`   // a ping with no final answer this long failed; default 2s, at most interval
	Failures  int           `yaml:"failures"`  // failed pings in a row that take an up target down; default 3
	Successes int           `yaml:"successes"` // answered pings in a row that bring a down target back up; default 1
}

// Limits is `sip.limits`: what peers and strangers can make tonewall hold.
type Limits struct {
	MaxCalls          int           `yaml:"max_calls"`                  // concurrent calls, all trunks; default 1000
	RetryAfter        time.Duration `yaml:"retry_after"`                // Retry-After on tonewall's 503s, whole seconds; default 0: none
	MaxConnections    int           `yaml:"max_connections"`            // TCP/TLS connections, all listeners; default 1024
	MaxConnsPerSource int           `yaml:"max_connections_per_source"` // from one address; default 32
	HandshakeTimeout  time.Duration `yaml:"handshake_timeout"`          // TLS handshake; default 5s
	MessageTimeout    time.Duration `yaml:"message_timeout"`            // a message's first byte to its last; default 10s
	IdleTimeout       time.Duration `yaml:"idle_timeout"`               // a connection with no dialog and no traffic; default 60s
	SourceRate        float64       `yaml:"source_rate"`                // out-of-dialog requests/s per source address; default 2000; negative: off
	SourceBurst       int           `yaml:"source_burst"`               // default 2×source_rate
	SourceBlock       time.Duration `yaml:"source_block"`               // a source over its rate is dropped this long; default 10s
	MaxSources        int           `yaml:"max_sources"`                // sources the rate table tracks; default 65536
}

// Listener is one SIP socket.
type Listener struct {
	Name      string `yaml:"name"`      // referred to by trunks
	Transport string `yaml:"transport"` // udp | tcp | tls
	Address   string `yaml:"address"`   // host:port to bind
	Advertise string `yaml:"advertise"` // host:port written in Via/Contact/Record-Route; default Address
}

// TLS is `sip.tls`: the certificate tonewall presents and how it checks peers.
type TLS struct {
	CertFile   string `yaml:"cert_file"`   // PEM; empty: a self-signed certificate is made at start (development only)
	KeyFile    string `yaml:"key_file"`    // PEM
	CAFile     string `yaml:"ca_file"`     // CAs trusted for peers (servers we call, clients with mutual TLS); empty: system roots
	MinVersion string `yaml:"min_version"` // "1.2" (default) or "1.3"
	// VerifyServer checks the certificates of trunks tonewall connects to;
	// default true. Turn it off only for a lab peer with a self-signed certificate.
	VerifyServer *bool `yaml:"verify_server"`
}

// Trunk is one entry of `trunks`: a SIP peer, a carrier or a contact center.
type Trunk struct {
	Name         string   `yaml:"name"`
	Role         string   `yaml:"role"`     // carrier | contact_center
	Listener     string   `yaml:"listener"` // name of the listener its requests arrive on and ours leave from
	Sources      []string `yaml:"sources"`  // CIDRs its requests may come from
	Targets      []string `yaml:"targets"`  // SIP URIs in priority order, e.g. sip:10.0.0.5:5060;transport=tcp
	MutualTLS    bool     `yaml:"mutual_tls"`
	InboundAuth  *Digest  `yaml:"inbound_auth"`     // challenge its INVITEs with these credentials
	OutboundAuth *Digest  `yaml:"outbound_auth"`    // answer its challenges with these credentials
	MaxCalls     int      `yaml:"max_calls"`        // concurrent calls on this trunk, both directions; default 0: only sip.limits.max_calls
	CallsPerSec  float64  `yaml:"calls_per_second"` // new calls per second from this trunk; default 0: no cap
	Health       Health   `yaml:"health"`           // keys left out take sip.health's
	// Media is the trunk's media policy: srtp, srtp_suites, key_exchange,
	// dtmf, codecs and latch, written among the trunk's own keys.
	Media media.LegPolicy `yaml:",inline"`
}

// Digest holds digest-authentication credentials.
type Digest struct {
	Realm    string `yaml:"realm"` // inbound only; default "tonewall"
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Route is one entry of `routes`: calls arriving on one trunk go to another.
type Route struct {
	From    string `yaml:"from"`    // trunk name
	To      string `yaml:"to"`      // trunk name
	Capture string `yaml:"capture"` // api | always | off; default api
}
