package vault

import (
	"mime"
	"time"

	"github.com/tonewall/tonewall/internal/config"
)

// DetokenizeConfig is the vault.detokenize YAML section: the one payment
// processor endpoint that the control API's POST
// /v1/tokens/{token}/detokenize sends a card to ([Forwarder]). A request
// never chooses the destination, so an API key cannot send cards anywhere
// else. With no forward_url, detokenization is off (the shipped default).
type DetokenizeConfig struct {
	ForwardURL      string        `yaml:"forward_url"`       // https, or http to loopback only; empty: detokenization off
	Timeout         time.Duration `yaml:"timeout"`           // the whole POST, the processor's answer included; default 10s
	BearerTokenFile string        `yaml:"bearer_token_file"` // file holding a token sent as Authorization: Bearer; never inline
	ContentType     string        `yaml:"content_type"`      // of the POST; default application/json
	Body            string        `yaml:"body"`              // template with {{token}} {{pan}} {{expiry}} {{cvv}} {{reference}}; default DefaultDetokenizeBody

	// ca_file (CAs trusted besides the system's), cert_file and key_file
	// (mutual TLS), server_name: as in vault.http.tls.
	ClientTLS `yaml:",inline"`
}

// Defaults and bounds of DetokenizeConfig.
const (
	DefaultDetokenizeTimeout     = 10 * time.Second
	MaxDetokenizeTimeout         = 2 * time.Minute
	DefaultDetokenizeContentType = "application/json"
	DefaultDetokenizeBody        = `{"token":"{{token}}","pan":"{{pan}}","expiry":"{{expiry}}","cvv":"{{cvv}}","reference":"{{reference}}"}`
)

func detokenizeKeyErr(key, format string, args ...any) error {
	return config.Errorf("vault.detokenize."+key, format, args...)
}

// Enabled reports whether detokenization is configured.
func (c *DetokenizeConfig) Enabled() bool { return c.ForwardURL != "" }

// Validate fills defaults and checks the section without reading files. Its
// errors are *config.FieldError. The body template is checked even while forward_url
// is empty, so a mistake shows before the day it is switched on.
func (c *DetokenizeConfig) Validate() error {
	setDefault(&c.Timeout, DefaultDetokenizeTimeout)
	setDefault(&c.ContentType, DefaultDetokenizeContentType)
	setDefault(&c.Body, DefaultDetokenizeBody)
	if c.ForwardURL != "" {
		if p := urlProblem(c.ForwardURL, "put a token in bearer_token_file"); p != "" {
			return detokenizeKeyErr("forward_url", "%s", p)
		}
	}
	if c.Timeout < 0 || c.Timeout > MaxDetokenizeTimeout {
		return detokenizeKeyErr("timeout", "%s: must be between 0s and %s", c.Timeout, MaxDetokenizeTimeout)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return detokenizeKeyErr("cert_file", "cert_file and key_file go together (mutual TLS)")
	}
	if _, _, err := mime.ParseMediaType(c.ContentType); err != nil {
		return detokenizeKeyErr("content_type", "%q is not a media type such as application/json", c.ContentType)
	}
	if _, err := parseBodyTemplate(c.Body); err != nil {
		return detokenizeKeyErr("body", "%v", err)
	}
	return nil
}

// usesCVV reports whether the body asks for the security code. Call it on a
// validated configuration.
func (c *DetokenizeConfig) usesCVV() bool {
	t, err := parseBodyTemplate(c.Body)
	return err == nil && t.uses(fieldCVV)
}
