package sip

import (
	"bytes"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"
)

// readFilter sees every UDP datagram before sipgo parses it. sipgo drops a
// message it cannot parse without a word; RFC 3261 8.2 wants a 400 where one
// can be built, so a request that fails to parse is answered here and dropped.
// Streams are left to sipgo, which closes a connection that sends garbage.
func (s *Server) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if info.Transport != "UDP" || len(bytes.TrimSpace(data)) == 0 {
		return data, nil
	}
	if _, err := sip.ParseMessage(data); err == nil {
		return data, nil
	}
	s.abuse.Warn("malformed SIP message dropped", zap.Stringer("source", info.RemoteAddr), zap.Int("bytes", len(data)))
	if res := badRequest(data); res != nil {
		if c, ok := s.udpConns.Load(info.LocalAddr.String()); ok {
			_, _ = c.(net.PacketConn).WriteTo(res, info.RemoteAddr)
		}
	}
	return nil, nil // nil data: sipgo skips the datagram and keeps reading
}

// badRequest builds a 400 for raw request bytes, echoing the headers a
// response must carry (RFC 3261 8.2.6.2) as they came; nil for responses and
// for data that does not look like a request.
func badRequest(data []byte) []byte {
	lines := strings.Split(string(data), "\n")
	if len(lines) == 0 || !looksLikeRequest(strings.TrimSpace(lines[0])) {
		return nil
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 400 Bad Request\r\n")
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

func looksLikeRequest(line string) bool {
	f := strings.Fields(line)
	return len(f) == 3 && f[2] == "SIP/2.0" && !strings.HasPrefix(f[0], "SIP/")
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
