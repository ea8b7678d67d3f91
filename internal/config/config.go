// Package config reads tonewall's YAML configuration into one typed struct,
// rejects unknown keys, fills defaults and validates, naming the file and line
// of every error.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/vault"
)

// Default is the shipped configs/tonewall.yaml, embedded so that
// `tonewall run` works with no file at all.
//
//go:embed default.yaml
var Default []byte

// Config is the whole of tonewall's configuration.
type Config struct {
	SIP     SIP            `yaml:"sip"`
	Media   media.Config   `yaml:"media"`
	Trunks  []Trunk        `yaml:"trunks"`
	Routes  []Route        `yaml:"routes"`
	Capture capture.Config `yaml:"capture"`
	Vault   vault.Config   `yaml:"vault"`
	Audit   audit.Config   `yaml:"audit"`
	API     API            `yaml:"api"`
	Log     Log            `yaml:"log"`

	src source // where it was read from, for Config.At
}

// source is the file a Config was parsed from and its node tree.
type source struct {
	name string
	root *yaml.Node
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse decodes and validates YAML; name is used in error messages.
// The bytes are decoded twice: strictly into the struct (yaml.v3 names the
// line of unknown keys and type errors), and into a node tree that maps the
// paths of validation errors back to their lines.
func Parse(name string, b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.src = source{name: name, root: new(yaml.Node)}
	_ = yaml.Unmarshal(b, c.src.root) // it decoded above, so it decodes here
	if err := c.validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, c.At(fe.Path, errors.New(fe.Msg))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// At ties err to the key at path, such as "sip.tls.cert_file", for errors
// found after Parse (a file that cannot be read, an address not on this
// host): the message names the file and line the key was read from.
func (c *Config) At(path string, err error) error {
	e := &LocatedError{File: c.src.name, Path: path, Err: err}
	if c.src.root != nil {
		e.Line = lineOf(c.src.root, path)
	}
	return e
}

// LocatedError is an error about the value at a YAML path, with the file
// and line it came from (Line is 0 for a Config not made by Parse).
type LocatedError struct {
	File string
	Line int
	Path string
	Err  error
}

func (e *LocatedError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Path, e.Err)
}

func (e *LocatedError) Unwrap() error { return e.Err }

// FieldError is a validation failure at a YAML path such as "trunks[1].sources[0]".
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

func fieldErr(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}
