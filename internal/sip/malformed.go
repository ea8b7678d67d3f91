package sip

import (
	"fmt"
	"strings"
)

// badRequest builds a stateless response (400 for what sipgo cannot parse,
// 403 for a stranger) to raw request bytes, echoing the headers a response
// must carry (RFC 3261 8.2.6.2) as they came; nil for responses and for data
// that does not look like a request.
func badRequest(data []byte, code int, reason string) []byte {
	lines := strings.Split(string(data), "\n")
	if len(lines) == 0 || requestMethod([]byte(strings.TrimSpace(lines[0]))) == "" {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, l := range lines[1:] {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			break
		}
		if echoHeader(l) && len(l) < 1024 {
			b.WriteString(l + "\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// echoHeader reports whether a raw header line is one a 400 must echo.
func echoHeader(line string) bool {
	i := strings.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(line[:i])) {
	case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
		return true
	}
	return false
}
