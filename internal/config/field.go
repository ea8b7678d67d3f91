package config

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is a validation failure at a YAML path such as
// "trunks[1].sources[0]". Sections return it from their Validate so that
// Source.Locate can name the line.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Errorf makes a *FieldError at path.
func Errorf(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Within puts err under prefix: a *FieldError's path becomes relative to
// prefix ("srtp" under "trunks[0]" is "trunks[0].srtp"); any other error
// becomes a *FieldError at prefix itself. nil stays nil.
func Within(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		return &FieldError{Path: prefix, Msg: err.Error()}
	}
	switch {
	case fe.Path == "":
		return &FieldError{Path: prefix, Msg: fe.Msg}
	case strings.HasPrefix(fe.Path, "["):
		return &FieldError{Path: prefix + fe.Path, Msg: fe.Msg}
	}
	return &FieldError{Path: prefix + "." + fe.Path, Msg: fe.Msg}
}

// OneOf checks *v against the allowed values; empty takes the first.
func OneOf[T ~string](path string, v *T, allowed ...T) error {
	if *v == "" {
		*v = allowed[0]
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if *v == a {
			return nil
		}
		names[i] = string(a)
	}
	return Errorf(path, "must be one of %s, not %q", strings.Join(names, ", "), *v)
}

// Default sets *v to def when it is the zero value.
func Default[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Each runs check on every item of the list at path, giving it the item's
// own path ("trunks[2]"), and stops at the first error.
func Each[T any](path string, items []T, check func(p string, item *T) error) error {
	for i := range items {
		if err := check(fmt.Sprintf("%s[%d]", path, i), &items[i]); err != nil {
			return err
		}
	}
	return nil
}
