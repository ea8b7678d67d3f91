package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// headerMsg is what requests and responses share of header access.
type headerMsg interface {
	GetHeaders(name string) []sip.Header
	GetHeader(name string) sip.Header
	Headers() []sip.Header
	AppendHeader(h sip.Header)
}

// copyPassHeaders copies the pass-listed headers of one leg's message onto
// the other leg's. Everything else stays on its own side (topology hiding).
// User-to-User crosses once at most: Genesys drops all UUI on seeing two.
func (s *Server) copyPassHeaders(from, to headerMsg) {
	for _, name := range s.cfg.SIP.HeaderPass {
		for _, h := range matchHeaders(from, name) {
			if strings.EqualFold(h.Name(), "User-to-User") && to.GetHeader("User-to-User") != nil {
				continue
			}
			to.AppendHeader(sip.NewHeader(h.Name(), h.Value()))
		}
	}
}

// matchHeaders returns the headers named name, or with the prefix before a
// trailing '*'.
func matchHeaders(m headerMsg, name string) []sip.Header {
	if !strings.HasSuffix(name, "*") {
		return m.GetHeaders(name)
	}
	prefix := strings.ToLower(strings.TrimSuffix(name, "*"))
	var out []sip.Header
	for _, h := range m.Headers() {
		if strings.HasPrefix(strings.ToLower(h.Name()), prefix) {
			out = append(out, h)
		}
	}
	return out
}

func containsTag(list, tag string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tag) {
			return true
		}
	}
	return false
}
