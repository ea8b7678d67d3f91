package sip

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"
)

// udpSocket is a UDP listener's socket, for answers readFilter sends itself.
type udpSocket struct {
	net.PacketConn
	l *listener
}

// readFilter sees every UDP datagram before sipgo parses it, which is where
// an edge is cheapest to hold: a datagram dropped here makes no transaction,
// no retransmission and no log line of its own. In order:
//   - a datagram from no trunk of the listener is dropped (unknown_sources:
//     drop), or a request among them answered 403 here, once (reject);
//   - a request whose User-Agent names a known scanner is dropped;
//   - a source over its rate of out-of-dialog requests is dropped, and
//     blocked for source_block;
//   - a request sipgo cannot parse is answered 400 (RFC 3261 8.2) and dropped.
//
// Streams are held at accept (strangers and caps) and by their deadlines.
func (s *Server) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if info.Transport != "UDP" || len(bytes.TrimSpace(data)) == 0 {
		return data, nil
	}
	sock := s.udpSocketOf(info.LocalAddr)
	if sock == nil {
		return data, nil // a socket sipgo opened for a request of ours
	}
	src := addrPortOf(info.RemoteAddr).Addr()
	known := matchTrunk(s.table().trunks, sock.l, src) != nil
	if !known && s.cfg.SIP.UnknownSources == "drop" {
		return s.drop("unknown_source", info, data)
	}
	method := requestMethod(data)
	if method != "" && s.scanner(headerValue(data, "user-agent")) {
		return s.drop("scanner", info, data)
	}
	if method != "" && outOfDialog(method) && !s.sources.allow(src, time.Now()) {
		return s.drop("source_rate", info, data)
	}
	_, perr := sip.ParseMessage(data)
	switch {
	case perr != nil && !known:
		return s.drop("malformed", info, data)
	case perr != nil:
		s.abuse.Warn("malformed SIP message dropped", zap.Stringer("source", info.RemoteAddr), zap.Int("bytes", len(data)))
		s.answer(sock, info.RemoteAddr, badRequest(data, 400, "Bad Request"), len(data))
		return nil, nil
	case !known:
		s.metrics.dropped.WithLabelValues("unknown_source_rejected").Inc()
		s.abuse.Warn("request from no trunk refused", zap.String("source", info.RemoteAddr.String()))
		if method != "" && method != "ACK" {
			s.answer(sock, info.RemoteAddr, badRequest(data, 403, "Forbidden"), len(data))
		}
		return nil, nil
	}
	return data, nil
}

// drop counts and logs (sampled) a datagram dropped unanswered; nil data
// makes sipgo skip it and read on.
func (s *Server) drop(reason string, info sip.TransportReadProps, data []byte) ([]byte, error) {
	s.metrics.dropped.WithLabelValues(reason).Inc()
	if ce := s.abuse.Check(zap.InfoLevel, "sip datagram dropped"); ce != nil { // sampled: most floods write nothing
		ce.Write(zap.String("reason", reason), zap.Stringer("source", info.RemoteAddr), zap.Int("bytes", len(data)))
	}
	return nil, nil
}

// answer sends a stateless response, never more bytes than the request
// brought: tonewall must not be a reflector.
func (s *Server) answer(sock *udpSocket, to net.Addr, res []byte, limit int) {
	if res == nil || len(res) > limit {
		s.metrics.dropped.WithLabelValues("answer_too_large").Inc()
		return
	}
	_, _ = sock.WriteTo(res, to)
}

func (s *Server) udpSocketOf(a net.Addr) *udpSocket {
	if v, ok := s.udpConns.Load(addrPortOf(a)); ok {
		return v.(*udpSocket)
	}
	return nil
}

// addrPortOf is a's address (IPv4-mapped unmapped) and port, without the
// allocations of String for UDP and TCP addresses.
func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// requestMethod is the method of a request's start line; "" for a response
// or anything else. The start line splits as strings.Fields splits it; an
// ASCII one, which is every one a SIP peer sends, without allocating.
func requestMethod(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	for _, c := range line {
		if c >= utf8.RuneSelf {
			return requestMethodFields(line)
		}
	}
	var f [3][]byte
	for n := 0; ; n++ {
		line = bytes.TrimLeft(line, asciiSpace)
		switch {
		case len(line) == 0 && n == 3:
			if string(f[2]) != "SIP/2.0" || bytes.HasPrefix(f[0], []byte("SIP/")) {
				return ""
			}
			return methodName(f[0])
		case len(line) == 0 || n == 3:
			return ""
		}
		end := bytes.IndexAny(line, asciiSpace)
		if end < 0 {
			end = len(line)
		}
		f[n], line = line[:end], line[end:]
	}
}

// asciiSpace is what unicode.IsSpace finds in ASCII, less the newline
// that ends a start line.
const asciiSpace = "\t\v\f\r "

// requestMethodFields is requestMethod for a start line past ASCII, which
// strings.Fields splits at Unicode spaces too.
func requestMethodFields(line []byte) string {
	f := strings.Fields(string(line))
	if len(f) != 3 || f[2] != "SIP/2.0" || strings.HasPrefix(f[0], "SIP/") {
		return ""
	}
	return f[0]
}

// methodName is b as a string; the methods tonewall handles without
// allocating one.
func methodName(b []byte) string {
	switch string(b) {
	case "INVITE":
		return "INVITE"
	case "ACK":
		return "ACK"
	case "BYE":
		return "BYE"
	case "CANCEL":
		return "CANCEL"
	case "OPTIONS":
		return "OPTIONS"
	case "INFO":
		return "INFO"
	case "UPDATE":
		return "UPDATE"
	case "PRACK":
		return "PRACK"
	}
	return string(b)
}

// outOfDialog reports whether a method is one a stranger could send to
// start something: the rate limit counts these, not the requests of calls
// in progress.
func outOfDialog(method string) bool {
	switch method {
	case "ACK", "BYE", "CANCEL", "PRACK", "INFO", "UPDATE":
		return false
	}
	return true
}

// scanner reports whether a User-Agent value holds a configured scanner's
// name.
func (s *Server) scanner(ua string) bool {
	if ua == "" {
		return false
	}
	ua = strings.ToLower(ua)
	for _, name := range s.cfg.SIP.ScannerAgents {
		if name != "" && strings.Contains(ua, strings.ToLower(name)) {
			return true
		}
	}
	return false
}

// headerValue is the first value of a header (lower-case name) in raw
// message bytes, from the lines before the first empty one.
func headerValue(data []byte, name string) string {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return ""
		}
		i := bytes.IndexByte(line, ':')
		if i > 0 && equalFold(trimSpace(line[:i]), name) {
			return string(trimSpace(line[i+1:]))
		}
	}
	return ""
}

// stranger reports whether a request came from no trunk of the listener
// it arrived on.
func (s *Server) stranger(req *sip.Request, tx sip.ServerTransaction) bool {
	l := s.listenerOf(tx, req)
	return l == nil || matchTrunk(s.table().trunks, l, sourceAddr(req)) == nil
}
