// Package config decodes tonewall's YAML into whatever document it is
// given, rejecting unknown keys, and ties an error about a key to the file
// and line the key was read from. It knows nothing of what the keys mean:
// each package declares, defaults and validates its own section, and
// internal/app assembles the document from them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// Source is a decoded file: its name and node tree, which map the YAML
// path of a key back to its line.
type Source struct {
	name string
	root *yaml.Node
}

// Decode decodes b into doc, a pointer to a struct of sections; name is
// used in error messages. A key doc has no field for, or a value of the
// wrong type, is an error naming its line. The bytes are decoded twice:
// strictly into doc (yaml.v3 names the line of unknown keys and type
// errors), and into a node tree that maps the paths of later errors back
// to their lines.
func Decode(name string, b []byte, doc any) (*Source, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	src := &Source{name: name, root: new(yaml.Node)}
	_ = yaml.Unmarshal(b, src.root) // it decoded above, so it decodes here
	return src, nil
}

// Locate ties a validation error to its place: a *FieldError to the file
// and line of its path, any other error to the file alone.
func (s *Source) Locate(err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return s.At(fe.Path, errors.New(fe.Msg))
	}
	return fmt.Errorf("%s: %w", s.name, err)
}

// At ties err to the key at path, such as "sip.tls.cert_file", for errors
// found after validation (a file that cannot be read, an address not on
// this host): the message names the file and line the key was read from.
// A nil Source (a document not decoded from a file) names the path only.
func (s *Source) At(path string, err error) error {
	if s == nil {
		return &LocatedError{Path: path, Err: err}
	}
	return &LocatedError{File: s.name, Line: lineOf(s.root, path), Path: path, Err: err}
}

// LocatedError is an error about the value at a YAML path, with the file
// and line it came from (Line is 0 for a document not decoded from a file).
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
