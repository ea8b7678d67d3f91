package app

import (
	"crypto/sha256"
	_ "embed"
	"errors"
	"os"

	"github.com/tonewall/tonewall/internal/api"
	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/cdr"
	"github.com/tonewall/tonewall/internal/config"
	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/sip"
	"github.com/tonewall/tonewall/internal/vault"
)

// Default is the shipped configs/tonewall.yaml, embedded so that
// `tonewall run` works with no file at all.
//
//go:embed default.yaml
var Default []byte

// Config is the whole of tonewall.yaml, assembled from the sections each
// part declares: sip, trunks and routes (sip.Config), media, capture,
// vault, audit, api, cdr and log.
type Config struct {
	sip.Config `yaml:",inline"`
	Media      media.Config   `yaml:"media"`
	Capture    capture.Config `yaml:"capture"`
	Vault      vault.Config   `yaml:"vault"`
	Audit      audit.Config   `yaml:"audit"`
	API        api.Config     `yaml:"api"`
	CDR        cdr.Config     `yaml:"cdr"`
	Log        Log            `yaml:"log"`

	src  *config.Source // where it was read from, for At
	file string         // the file Load read; "" for Parse
	sum  [sha256.Size]byte
}

// Log is the `log` section.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error; default info
	Format string `yaml:"format"` // json | console; default json
}

// Validate fills defaults and checks the section.
func (l *Log) Validate() error {
	if err := config.OneOf("log.level", &l.Level, "info", "debug", "warn", "error"); err != nil {
		return err
	}
	return config.OneOf("log.format", &l.Format, "json", "console")
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(path, b)
	if err != nil {
		return nil, err
	}
	c.file = path
	return c, nil
}

// Parse decodes and validates YAML; name is used in error messages, which
// name the line of the key at fault.
func Parse(name string, b []byte) (*Config, error) {
	var c Config
	src, err := config.Decode(name, b, &c)
	if err != nil {
		return nil, err
	}
	c.src, c.sum = src, sha256.Sum256(b)
	if err := c.Validate(); err != nil {
		return nil, src.Locate(err)
	}
	return &c, nil
}

// Validate has each section fill its defaults and check itself, and stops
// at the first mistake. Its errors are *config.FieldError.
func (c *Config) Validate() error {
	for _, s := range []struct {
		key      string // where an error that names no key of its own is reported
		validate func() error
	}{
		{"sip", c.Config.Validate}, {"media", c.Media.Validate}, {"capture", c.Capture.Validate},
		{"vault", c.Vault.Validate}, {"audit", c.Audit.Validate}, {"api", c.API.Validate}, {"cdr", c.CDR.Validate}, {"log", c.Log.Validate},
	} {
		if err := s.validate(); err != nil {
			return keyed(s.key, err)
		}
	}
	return nil
}

// keyed keeps a *config.FieldError, which names its key, and reports any
// other error at its section's key.
func keyed(section string, err error) error {
	var fe *config.FieldError
	if errors.As(err, &fe) {
		return err
	}
	return config.Within(section, err)
}

// At ties err to the key at path, such as "sip.tls.cert_file", for errors
// found after Parse (a file that cannot be read, an address not on this
// host): the message names the file and line the key was read from.
func (c *Config) At(path string, err error) error {
	return c.src.At(path, err)
}
