package api

import (
	"net/netip"
	"strings"
	"time"

	"github.com/tonewall/tonewall/internal/config"
)

// Config is the `api` section of tonewall.yaml: the control API's HTTP
// listener, who may use it, and the bounds that hold it at an edge where
// hostile traffic is normal.
type Config struct {
	Address string `yaml:"address"` // host:port; default 127.0.0.1:8080
	Keys    []Key  `yaml:"keys"`    // bearer keys; none: only /healthz, /readyz and /metrics answer

	MaxConnections        int           `yaml:"max_connections"`           // open connections; over it one is accepted and closed at once; default 256
	MaxHeaderBytes        int           `yaml:"max_header_bytes"`          // request line and headers; default 16384
	ReadHeaderTimeout     time.Duration `yaml:"read_header_timeout"`       // to send the request line and headers; default 5s
	ReadTimeout           time.Duration `yaml:"read_timeout"`              // to send the whole request, body included; default 15s
	WriteTimeout          time.Duration `yaml:"write_timeout"`             // to take an answer (an event stream: each event); default 30s
	IdleTimeout           time.Duration `yaml:"idle_timeout"`              // a keep-alive connection between requests; default 60s
	MaxEventStreams       int           `yaml:"max_event_streams"`         // GET /v1/events open at once, all keys; over it 503; default 64
	MaxEventStreamsPerKey int           `yaml:"max_event_streams_per_key"` // the same, per API key; over it 429; default 4
}

// Key is one entry of `api.keys`: a bearer key, stored as the SHA-256 of
// the key, never the key.
type Key struct {
	Name   string `yaml:"name"`   // who holds it, for the audit log
	SHA256 string `yaml:"sha256"` // hex SHA-256 of the key: printf %s "$KEY" | sha256sum
	Role   Role   `yaml:"role"`   // agent | supervisor | auditor | admin
}

// Validate fills defaults and checks the section. Its errors are
// *config.FieldError.
func (c *Config) Validate() error {
	config.Default(&c.Address, "127.0.0.1:8080")
	if _, err := netip.ParseAddrPort(c.Address); err != nil {
		return config.Errorf("api.address", "want ip:port: %v", err)
	}
	if err := c.validateBounds(); err != nil {
		return err
	}
	return ValidateKeys(c.Keys)
}

// ValidateKeys checks the entries of `api.keys` and fills their default role.
func ValidateKeys(keys []Key) error {
	return config.Each("api.keys", keys, func(p string, k *Key) error {
		if k.Name == "" {
			return config.Errorf(p+".name", "required")
		}
		if len(k.SHA256) != 64 || strings.Trim(strings.ToLower(k.SHA256), "0123456789abcdef") != "" {
			return config.Errorf(p+".sha256", "want the 64 hex digits of the key's SHA-256, not the key")
		}
		return config.OneOf(p+".role", &k.Role, RoleAgent, RoleSupervisor, RoleAuditor, RoleAdmin)
	})
}

// SetDefaults fills the bounds left zero with their defaults. Validate
// calls it; so does New for a section that did not go through it.
func (c *Config) SetDefaults() {
	config.Default(&c.MaxConnections, 256)
	config.Default(&c.MaxHeaderBytes, 16<<10)
	config.Default(&c.ReadHeaderTimeout, 5*time.Second)
	config.Default(&c.ReadTimeout, 15*time.Second)
	config.Default(&c.WriteTimeout, 30*time.Second)
	config.Default(&c.IdleTimeout, 60*time.Second)
	config.Default(&c.MaxEventStreams, 64)
	config.Default(&c.MaxEventStreamsPerKey, 4)
}

// validateBounds refuses negative bounds and a per-key stream cap above
// the total, after filling defaults.
func (c *Config) validateBounds() error {
	c.SetDefaults()
	for _, n := range []struct {
		key string
		v   int
	}{{"max_connections", c.MaxConnections}, {"max_header_bytes", c.MaxHeaderBytes},
		{"max_event_streams", c.MaxEventStreams}, {"max_event_streams_per_key", c.MaxEventStreamsPerKey}} {
		if n.v < 0 {
			return config.Errorf("api."+n.key, "must be positive (0 takes the default), not %d", n.v)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", c.ReadHeaderTimeout}, {"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout}, {"idle_timeout", c.IdleTimeout}} {
		if d.v < 0 {
			return config.Errorf("api."+d.key, "must be a positive duration such as 5s, not %v", d.v)
		}
	}
	if c.MaxEventStreamsPerKey > c.MaxEventStreams {
		return config.Errorf("api.max_event_streams_per_key", "%d is more than api.max_event_streams (%d)", c.MaxEventStreamsPerKey, c.MaxEventStreams)
	}
	if c.ReadHeaderTimeout > c.ReadTimeout {
		return config.Errorf("api.read_header_timeout", "%v is longer than api.read_timeout (%v), which includes it", c.ReadHeaderTimeout, c.ReadTimeout)
	}
	return nil
}
