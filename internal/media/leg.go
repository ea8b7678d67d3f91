package media

import (
	"fmt"
	"strings"

	"github.com/tonewall/tonewall/internal/config"
)

// Side names a call's side by trunk role: the legs of a call are its two sides. The DTMF stage always sits on
// Carrier→ContactCenter (the customer's audio), whichever side placed the call.
type Side int

// The two sides of every call.
const (
	Carrier Side = iota
	ContactCenter
)

func (l Side) String() string {
	switch l {
	case Carrier:
		return "carrier"
	case ContactCenter:
		return "contact_center"
	}
	return fmt.Sprintf("leg(%d)", int(l))
}

// Other is the opposite side.
func (l Side) Other() Side { return 1 - l }

func (l Side) valid() bool { return l == Carrier || l == ContactCenter }

// LegPolicy is one leg's media policy: the media keys of its trunk in
// tonewall.yaml (inline in the trunk's entry), which Validate parses once.
type LegPolicy struct {
	Trunk       string      `yaml:"-"`            // trunk name, for errors and logs
	SRTP        SRTPMode    `yaml:"srtp"`         // "" = off
	Suites      []string    `yaml:"srtp_suites"`  // SDES suites in preference order; empty = all supported
	KeyExchange KeyExchange `yaml:"key_exchange"` // "" = sdes
	DTMF        DTMFMethod  `yaml:"dtmf"`         // "" = rfc4733
	Codecs      []string    `yaml:"codecs"`       // allowed codec names in preference order; empty = any
	Latch       bool        `yaml:"latch"`        // NAT: accept the first source seen, then only that one

	valid bool // Validate passed: NewSession takes the policy as it is
}

// SRTPMode says whether a leg's media must, may or must not be SRTP.
type SRTPMode string

// SRTP modes.
const (
	SRTPOff      SRTPMode = "off"
	SRTPOptional SRTPMode = "optional"
	SRTPRequired SRTPMode = "required"
)

// KeyExchange is how an SRTP leg agrees its keys.
type KeyExchange string

// Key exchanges.
const (
	KeySDES KeyExchange = "sdes" // a=crypto in the SDP (RFC 4568)
	KeyDTLS KeyExchange = "dtls" // DTLS-SRTP on the media path (RFC 5763/5764)
)

// DTMFMethod is how a leg carries keypad digits.
type DTMFMethod string

// DTMF methods.
const (
	DTMFRFC4733 DTMFMethod = "rfc4733" // telephone-event packets
	DTMFInband  DTMFMethod = "inband"  // tones in G.711 audio
	DTMFInfo    DTMFMethod = "info"    // SIP INFO
)

// Validate fills defaults and checks the policy. Its errors are
// *config.FieldError at the policy's own keys ("srtp", "codecs"), to be
// put under the trunk's path. An in-band leg gets its G.711 codecs moved
// to the front: tones can only be detected (and masked) in G.711.
func (p *LegPolicy) Validate() error {
	if err := config.OneOf("srtp", &p.SRTP, SRTPOff, SRTPOptional, SRTPRequired); err != nil {
		return err
	}
	if err := config.OneOf("key_exchange", &p.KeyExchange, KeySDES, KeyDTLS); err != nil {
		return err
	}
	if err := config.OneOf("dtmf", &p.DTMF, DTMFRFC4733, DTMFInband, DTMFInfo); err != nil {
		return err
	}
	for j, n := range p.Suites {
		if _, ok := suiteByName(n); !ok {
			return config.Errorf(fmt.Sprintf("srtp_suites[%d]", j), "unsupported suite %q", n)
		}
	}
	if len(p.Suites) == 0 {
		p.Suites = allSuiteNames()
	}
	if p.DTMF == DTMFInband && len(p.Codecs) > 0 {
		p.Codecs = g711First(p.Codecs)
		if !isG711(p.Codecs[0]) {
			return config.Errorf("codecs", "dtmf: inband needs PCMU or PCMA among the codecs: tones are read from G.711 audio")
		}
	}
	p.valid = true
	return nil
}

// normalized is the policy a session uses: validated, errors naming the
// trunk. A trunk's policy was validated with the configuration, once; one
// made in code is validated here.
func (p LegPolicy) normalized() (LegPolicy, error) {
	if p.valid {
		return p, nil
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("trunk %q: %w", p.Trunk, err)
	}
	return p, nil
}

func isG711(codec string) bool {
	return strings.EqualFold(codec, "PCMU") || strings.EqualFold(codec, "PCMA")
}

// g711First is a copy of codecs with PCMU and PCMA moved to the front, in
// their order.
func g711First(codecs []string) []string {
	out := make([]string, 0, len(codecs))
	for _, c := range codecs {
		if isG711(c) {
			out = append(out, c)
		}
	}
	for _, c := range codecs {
		if !isG711(c) {
			out = append(out, c)
		}
	}
	return out
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
		return p.DTMF == DTMFRFC4733
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
