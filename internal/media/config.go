package media

import (
	"net/netip"
	"time"

	"github.com/tonewall/tonewall/internal/config"
)

// Config is the `media` section of tonewall.yaml. Validate fills defaults.
type Config struct {
	Address    string        `yaml:"address"`    // IP to bind RTP sockets on; default "127.0.0.1"
	Advertise  string        `yaml:"advertise"`  // IP written into SDP c=; default Address
	PortMin    int           `yaml:"port_min"`   // first RTP port, even; default 20000
	PortMax    int           `yaml:"port_max"`   // last port of the range; default 30000
	Inactivity time.Duration `yaml:"inactivity"` // no media from any leg this long ends the session; default 60s; 0 = off
	Drain      time.Duration `yaml:"drain"`      // a released port stays out of the pool this long; default 2s
}

// Defaults used by Validate for zero fields.
const (
	DefaultAddress    = "127.0.0.1"
	DefaultPortMin    = 20000
	DefaultPortMax    = 30000
	DefaultInactivity = 60 * time.Second
	DefaultDrain      = 2 * time.Second
)

// Validate fills defaults and rejects impossible values; its errors are
// *config.FieldError. A zero Inactivity
// means the default; set a negative value to switch the timer off.
func (c *Config) Validate() error {
	c.fillDefaults()
	if _, err := netip.ParseAddr(c.Address); err != nil {
		return config.Errorf("media.address", "%q: %v", c.Address, err)
	}
	if _, err := netip.ParseAddr(c.Advertise); err != nil {
		return config.Errorf("media.advertise", "%q: %v", c.Advertise, err)
	}
	return c.validatePorts()
}

func (c *Config) fillDefaults() {
	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if c.Advertise == "" {
		c.Advertise = c.Address
	}
	if c.PortMin == 0 {
		c.PortMin = DefaultPortMin
	}
	if c.PortMax == 0 {
		c.PortMax = DefaultPortMax
	}
	if c.Inactivity == 0 {
		c.Inactivity = DefaultInactivity
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
}

func (c *Config) validatePorts() error {
	if c.PortMin%2 != 0 {
		c.PortMin++ // RTP uses the even port, RTCP the odd one above it
	}
	if c.PortMin < 1024 || c.PortMax > 65535 || c.PortMin+1 > c.PortMax {
		return config.Errorf("media.port_min", "%d / port_max %d: need 1024 <= min < max <= 65535", c.PortMin, c.PortMax)
	}
	if c.Drain < 0 {
		return config.Errorf("media.drain", "%s: must not be negative", c.Drain)
	}
	return nil
}
