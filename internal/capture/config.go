package capture

import (
	"fmt"
	"time"

	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/config"
	"github.com/tonewall/tonewall/internal/dtmf"
)

// Config is the `capture` section of tonewall.yaml: defaults for every
// capture, which a request may narrow.
type Config struct {
	Mask              string        `yaml:"mask"`                // tone | silence | comfort_noise | window; default tone
	Lookahead         time.Duration `yaml:"lookahead"`           // audio held back while a window is open; default 40ms
	FirstDigitTimeout time.Duration `yaml:"first_digit_timeout"` // default 15s
	InterDigitTimeout time.Duration `yaml:"inter_digit_timeout"` // default 5s
	Attempts          int           `yaml:"attempts"`            // per field; default 3
	Timeout           time.Duration `yaml:"timeout"`             // whole capture; default 5m
	Fields            []string      `yaml:"fields"`              // default [pan, expiry, cvv]
	Brands            []string      `yaml:"brands"`              // accepted; default all
	Delivery          Delivery      `yaml:"delivery"`
}

// Delivery says where a capture's result goes, besides the control API.
type Delivery struct {
	SIPInfo bool    `yaml:"sip_info"` // INFO application/vnd.tonewall.capture+json toward the contact center; default true
	Webhook Webhook `yaml:"webhook"`  // a signed POST of each result
	// TokenDTMF keys the token toward the contact center once a capture
	// is tokenized — as RFC 4733 events, or as tones when the contact
	// center's trunk takes DTMF in-band — so an unchanged IVR that
	// "collects a card number" collects the token; default false.
	TokenDTMF bool `yaml:"token_dtmf"`
	set       bool
}

// UnmarshalYAML records that the section was written, so an explicit
// sip_info: false is kept while an absent section defaults to true.
func (d *Delivery) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Delivery
	var p plain
	if err := unmarshal(&p); err != nil {
		return err
	}
	*d = Delivery(p)
	d.set = true
	return nil
}

// Validate fills defaults and checks values.
func (c *Config) Validate() error {
	if c.Mask == "" {
		c.Mask = "tone"
	}
	if _, err := dtmf.ParseMaskMode(c.Mask); err != nil {
		return config.Errorf("capture.mask", "%v", err)
	}
	if c.Lookahead == 0 {
		c.Lookahead = 40 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	if len(c.Fields) == 0 {
		c.Fields = []string{"pan", "expiry", "cvv"}
	}
	for i, b := range c.Brands {
		if !isBrand(b) {
			return config.Errorf(fmt.Sprintf("capture.brands[%d]", i), "unknown brand %q", b)
		}
	}
	if !c.Delivery.set {
		c.Delivery.SIPInfo = true
	}
	if err := c.Delivery.Webhook.load(); err != nil {
		return err
	}
	return c.suppressor().Validate()
}

func (c *Config) suppressor() dtmf.SuppressorConfig {
	m, _ := dtmf.ParseMaskMode(c.Mask)
	return dtmf.SuppressorConfig{Mode: m, Lookahead: c.Lookahead}
}

func isBrand(s string) bool {
	for _, b := range card.Brands {
		if string(b) == s {
			return true
		}
	}
	return false
}
