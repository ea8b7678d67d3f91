package dtmf

import (
	"bytes"
	"mime"
	"strconv"
	"strings"
	"time"
)

// SIP INFO DTMF content types.
const (
	ContentTypeDTMFRelay = "application/dtmf-relay" // Signal=5\r\nDuration=160\r\n
	ContentTypeDTMF      = "application/dtmf"       // the key alone
)

// maxInfoDuration bounds a Duration value; longer is malformed.
const maxInfoDuration = 60000 // ms

// IsInfoDTMF reports whether a Content-Type header names a DTMF INFO body.
func IsInfoDTMF(contentType string) bool {
	mt := mediaType(contentType)
	return mt == ContentTypeDTMFRelay || mt == ContentTypeDTMF
}

// ParseInfo parses a SIP INFO DTMF body of either content type. Duration is
// zero when the body gives none. Errors never quote the body.
func ParseInfo(contentType string, body []byte) (Key, time.Duration, error) {
	switch mediaType(contentType) {
	case ContentTypeDTMFRelay:
		return parseRelay(body)
	case ContentTypeDTMF:
		k, err := parseSignal(string(bytes.TrimSpace(body)))
		return k, 0, err
	}
	return 0, 0, ErrBadBody
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// parseRelay reads "Signal=" and "Duration=" lines: any case, spaces around
// names and values, CRLF or LF, other lines ignored, Duration optional.
func parseRelay(body []byte) (Key, time.Duration, error) {
	var (
		key Key
		dur time.Duration
		got bool
	)
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "signal"):
			k, err := parseSignal(value)
			if err != nil || got {
				return 0, 0, ErrBadSignal
			}
			key, got = k, true
		case strings.EqualFold(name, "duration"):
			ms, err := strconv.Atoi(value)
			if err != nil || ms < 0 || ms > maxInfoDuration {
				return 0, 0, ErrBadDuration
			}
			dur = time.Duration(ms) * time.Millisecond
		}
	}
	if !got {
		return 0, 0, ErrBadBody
	}
	return key, dur, nil
}

// parseSignal accepts one key character (a-d in any case) or an RFC 4733
// event number 0-15 (10 is *, 11 is #).
func parseSignal(v string) (Key, error) {
	if len(v) == 1 {
		if k, ok := ParseKey(v[0]); ok {
			return k, nil
		}
	}
	if n, err := strconv.Atoi(v); err == nil && len(v) <= 2 {
		if k, ok := KeyFromEvent(n); ok {
			return k, nil
		}
	}
	return 0, ErrBadSignal
}

// AppendInfoRelay appends an application/dtmf-relay body for k.
func AppendInfoRelay(dst []byte, k Key, d time.Duration) ([]byte, error) {
	if !k.Valid() {
		return dst, ErrBadSignal
	}
	dst = append(dst, "Signal="...)
	dst = append(dst, byte(k))
	dst = append(dst, "\r\nDuration="...)
	dst = strconv.AppendInt(dst, int64(d/time.Millisecond), 10)
	return append(dst, "\r\n"...), nil
}

// AppendInfoDTMF appends an application/dtmf body for k.
func AppendInfoDTMF(dst []byte, k Key) ([]byte, error) {
	if !k.Valid() {
		return dst, ErrBadSignal
	}
	return append(dst, byte(k)), nil
}
