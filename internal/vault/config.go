package vault

import (
	"fmt"

	"go.uber.org/zap"
)

// Drivers.
const (
	DriverLocal = "local"
	DriverHTTP  = "http"
)

// Config is the vault YAML section: which driver, its settings, and where
// detokenized cards may go.
type Config struct {
	Driver     string           `yaml:"driver"`     // local (default) or http
	Local      LocalConfig      `yaml:"local"`      // used when driver is local
	HTTP       HTTPConfig       `yaml:"http"`       // used when driver is http
	Detokenize DetokenizeConfig `yaml:"detokenize"` // detokenize-and-forward; off without forward_url
}

// Validate fills defaults and checks the chosen driver's settings and the
// detokenize section. A mistake in the latter is a *config.FieldError.
func (c *Config) Validate() error {
	if err := c.validateDriver(); err != nil {
		return err
	}
	if err := c.Detokenize.Validate(); err != nil {
		return err
	}
	if c.Driver != DriverLocal && c.Detokenize.Enabled() && c.Detokenize.usesCVV() {
		return detokenizeKeyErr("body", "uses {{cvv}}, but the %s driver never holds a security code (only local does); take {{cvv}} out", c.Driver)
	}
	return nil
}

func (c *Config) validateDriver() error {
	switch c.Driver {
	case "", DriverLocal:
		c.Driver = DriverLocal
		return c.Local.Validate()
	case DriverHTTP:
		return c.HTTP.Validate()
	default:
		return fmt.Errorf("vault.driver %q: want %s or %s", c.Driver, DriverLocal, DriverHTTP)
	}
}

// New builds the configured driver. log may be nil.
func New(cfg Config, log *zap.Logger) (Vault, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Return a nil interface, not a typed nil pointer, on error.
	if cfg.Driver == DriverHTTP {
		h, err := NewHTTP(cfg.HTTP, log)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
	l, err := NewLocal(cfg.Local, log)
	if err != nil {
		return nil, err
	}
	return l, nil
}
