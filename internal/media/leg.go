package media

import (
	"fmt"
	"strings"
)

// Leg names a call's side by trunk role. The DTMF stage always sits on
// Carrier→ContactCenter (the customer's audio), whichever side placed the call.
type Leg int

// The two legs of every call.
const (
	Carrier Leg = iota
	ContactCenter
)

func (l Leg) String() string {
	switch l {
	case Carrier:
		return "carrier"
	case ContactCenter:
		return "contact_center"
	}
	return fmt.Sprintf("leg(%d)", int(l))
}

// Other is the opposite leg.
func (l Leg) Other() Leg { return 1 - l }

func (l Leg) valid() bool { return l == Carrier || l == ContactCenter }

// LegPolicy is one leg's media policy, filled by the B2BUA from its trunk.
type LegPolicy struct {
	Trunk       string   // trunk name, for logs
	SRTP        string   // "off" | "optional" | "required"; "" = "off"
	Suites      []string // SDES suites in preference order; empty = all supported
	KeyExchange string   // "sdes" | "dtls"; "" = "sdes"
	DTMF        string   // "rfc4733" | "inband" | "info"; "" = "rfc4733"
	Codecs      []string // allowed codec names in preference order; empty = any
	Latch       bool     // NAT: accept the first source seen, then only that one
}

// SRTP policies.
const (
	SRTPOff      = "off"
	SRTPOptional = "optional"
	SRTPRequired = "required"
)

func (p LegPolicy) normalized() (LegPolicy, error) {
	p.SRTP = orDefault(strings.ToLower(p.SRTP), SRTPOff)
	p.KeyExchange = orDefault(strings.ToLower(p.KeyExchange), "sdes")
	p.DTMF = orDefault(strings.ToLower(p.DTMF), "rfc4733")
	if len(p.Suites) == 0 {
		p.Suites = allSuiteNames()
	}
	switch {
	case p.SRTP != SRTPOff && p.SRTP != SRTPOptional && p.SRTP != SRTPRequired:
		return p, fmt.Errorf("trunk %q: srtp %q: want off, optional or required", p.Trunk, p.SRTP)
	case p.KeyExchange != "sdes" && p.KeyExchange != "dtls":
		return p, fmt.Errorf("trunk %q: key exchange %q: %w", p.Trunk, p.KeyExchange, ErrUnsupported)
	case p.DTMF != "rfc4733" && p.DTMF != "inband" && p.DTMF != "info":
		return p, fmt.Errorf("trunk %q: dtmf %q: want rfc4733, inband or info", p.Trunk, p.DTMF)
	}
	return p, checkSuiteNames(p.Trunk, p.Suites)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// rank is a codec's place in the policy's preference order; codecs not
// listed (and telephone-event, comfort noise) rank after all listed ones.
func (p LegPolicy) rank(name string) int {
	for i, c := range p.Codecs {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return len(p.Codecs)
}

// allowsCodec reports whether the policy lets codec name through.
func (p LegPolicy) allowsCodec(name string) bool {
	if strings.EqualFold(name, telephoneEvent) {
		return p.DTMF == "rfc4733"
	}
	if len(p.Codecs) == 0 {
		return true
	}
	for _, c := range p.Codecs {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}
