package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Bencode, as rtpengine's ng control protocol speaks it: byte strings,
// integers, lists and dictionaries. Values are string, int, []any and
// map[string]any going out; string, int64, []any and map[string]any coming
// back.

// bencode appends v's encoding to b; dictionary keys go out sorted.
func bencode(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		b = append(strconv.AppendInt(b, int64(len(v)), 10), ':')
		return append(b, v...), nil
	case int:
		return append(strconv.AppendInt(append(b, 'i'), int64(v), 10), 'e'), nil
	case []string:
		b = append(b, 'l')
		for _, s := range v {
			b, _ = bencode(b, s)
		}
		return append(b, 'e'), nil
	case []any:
		b = append(b, 'l')
		for _, x := range v {
			var err error
			if b, err = bencode(b, x); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, 'd')
		for _, k := range keys {
			b, _ = bencode(b, k)
			var err error
			if b, err = bencode(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	}
	return nil, fmt.Errorf("bencode: cannot encode %T", v)
}

var errBencode = errors.New("bdecode: malformed input")

// bdecode decodes the one value at the start of b and returns the rest.
func bdecode(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errBencode
	}
	switch c := b[0]; {
	case c == 'i':
		end := bytes.IndexByte(b, 'e')
		if end < 0 {
			return nil, nil, errBencode
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		if err != nil {
			return nil, nil, errBencode
		}
		return n, b[end+1:], nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b, ':')
		if colon < 0 {
			return nil, nil, errBencode
		}
		n, err := strconv.Atoi(string(b[:colon]))
		if err != nil || n < 0 || n > len(b)-colon-1 {
			return nil, nil, errBencode
		}
		return string(b[colon+1 : colon+1+n]), b[colon+1+n:], nil
	case c == 'l':
		return bdecodeList(b[1:])
	case c == 'd':
		return bdecodeDict(b[1:])
	}
	return nil, nil, errBencode
}

func bdecodeList(b []byte) (any, []byte, error) {
	list := []any{}
	for len(b) > 0 && b[0] != 'e' {
		v, rest, err := bdecode(b)
		if err != nil {
			return nil, nil, err
		}
		list, b = append(list, v), rest
	}
	if len(b) == 0 {
		return nil, nil, errBencode
	}
	return list, b[1:], nil
}

func bdecodeDict(b []byte) (any, []byte, error) {
	dict := map[string]any{}
	for len(b) > 0 && b[0] != 'e' {
		k, rest, err := bdecode(b)
		if err != nil {
			return nil, nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, nil, errBencode
		}
		v, rest, err := bdecode(rest)
		if err != nil {
			return nil, nil, err
		}
		dict[key], b = v, rest
	}
	if len(b) == 0 {
		return nil, nil, errBencode
	}
	return dict, b[1:], nil
}
