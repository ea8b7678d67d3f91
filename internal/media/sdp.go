package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

const telephoneEvent = "telephone-event"

// Direction attributes (RFC 3264), from the point of view of the SDP's author.
const (
	dirSendRecv = "sendrecv"
	dirSendOnly = "sendonly"
	dirRecvOnly = "recvonly"
	dirInactive = "inactive"
)

// codec is one payload format of an m= line.
type codec struct {
	PT       uint8
	Name     string // as written in a=rtpmap, e.g. "PCMU", "telephone-event"
	Rate     int
	Channels string // rtpmap encoding parameters, "" when absent
	Fmtp     string // a=fmtp value after the payload type, "" when absent
}

func (c codec) same(o codec) bool { return c.Rate == o.Rate && strings.EqualFold(c.Name, o.Name) }

func (c codec) isDTMF() bool { return strings.EqualFold(c.Name, telephoneEvent) }

// audio codecs that carry speech (not telephone-event nor comfort noise)
func (c codec) isVoice() bool { return !c.isDTMF() && !strings.EqualFold(c.Name, "CN") }

var staticCodecs = map[uint8]codec{
	0: {Name: "PCMU", Rate: 8000}, 3: {Name: "GSM", Rate: 8000}, 4: {Name: "G723", Rate: 8000},
	8: {Name: "PCMA", Rate: 8000}, 9: {Name: "G722", Rate: 8000}, 13: {Name: "CN", Rate: 8000},
	18: {Name: "G729", Rate: 8000},
}

// mediaDesc is what tonewall reads from one audio m= line.
type mediaDesc struct {
	Addr   netip.Addr // connection address; unspecified (0.0.0.0) for RFC 2543 hold
	Port   int
	RTCP   netip.AddrPort // a=rtcp or port+1
	Mux    bool           // a=rtcp-mux
	Proto  string         // RTP/AVP, RTP/SAVP, ...
	Codecs []codec
	Dir    string
	Crypto []cryptoAttr // acceptable a=crypto lines, in offer order
	Keep   []sdp.Attribute

	Fingerprint string // a=fingerprint value, "sha-256 AB:CD:…" (media or session level)
	Setup       string // a=setup: actpass, active, passive
}

func (m *mediaDesc) isDTLS() bool { return strings.Contains(m.Proto, "TLS") }

func (m *mediaDesc) rtpAddr() netip.AddrPort { return netip.AddrPortFrom(m.Addr, uint16(m.Port)) }

// onHold reports RFC 2543 style hold, c=0.0.0.0.
func (m *mediaDesc) onHold() bool { return m.Addr.IsUnspecified() }

func (m *mediaDesc) secure() bool { return strings.Contains(m.Proto, "SAVP") }

// parsedSDP is a session description with its first audio stream read out.
type parsedSDP struct {
	sd    *sdp.SessionDescription
	index int // of the audio m= line in sd.MediaDescriptions
	media *mediaDesc
}

// parseSDP reads raw SDP; every error is an SDPError 488.
func parseSDP(raw []byte) (*parsedSDP, error) {
	sd := &sdp.SessionDescription{}
	if err := sd.Unmarshal(raw); err != nil {
		return nil, notAcceptable(fmt.Errorf("%w: %v", ErrBadSDP, err))
	}
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		m, err := readMedia(sd, md)
		if err != nil {
			return nil, notAcceptable(fmt.Errorf("%w: %v", ErrBadSDP, err))
		}
		return &parsedSDP{sd: sd, index: i, media: m}, nil
	}
	return nil, notAcceptable(ErrNoAudio)
}

func readMedia(sd *sdp.SessionDescription, md *sdp.MediaDescription) (*mediaDesc, error) {
	m := &mediaDesc{Port: md.MediaName.Port.Value, Proto: strings.Join(md.MediaName.Protos, "/"), Dir: dirSendRecv}
	if m.Port <= 0 || m.Port > 65535 {
		return nil, fmt.Errorf("m= port %d", m.Port)
	}
	addr, err := connAddr(sd, md)
	if err != nil {
		return nil, err
	}
	m.Addr = addr
	m.RTCP = netip.AddrPortFrom(addr, uint16(m.Port+1))
	readDirection(sd.Attributes, m)
	readDTLS(sd.Attributes, m)
	if err := readAttributes(md, m); err != nil {
		return nil, err
	}
	return m, readFormats(md, m)
}

func connAddr(sd *sdp.SessionDescription, md *sdp.MediaDescription) (netip.Addr, error) {
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return netip.Addr{}, fmt.Errorf("no c= line")
	}
	a, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("c= address %q: not an IP address", ci.Address.Address)
	}
	return a.Unmap(), nil
}

func readDirection(attrs []sdp.Attribute, m *mediaDesc) {
	for _, a := range attrs {
		switch a.Key {
		case dirSendRecv, dirSendOnly, dirRecvOnly, dirInactive:
			m.Dir = a.Key
		}
	}
}

// readDTLS reads a=fingerprint and a=setup; media level overrides session level.
func readDTLS(attrs []sdp.Attribute, m *mediaDesc) {
	for _, a := range attrs {
		switch a.Key {
		case "fingerprint":
			m.Fingerprint = strings.TrimSpace(a.Value)
		case "setup":
			m.Setup = strings.ToLower(strings.TrimSpace(a.Value))
		}
	}
}

func readAttributes(md *sdp.MediaDescription, m *mediaDesc) error {
	readDirection(md.Attributes, m)
	readDTLS(md.Attributes, m)
	for _, a := range md.Attributes {
		var err error
		switch a.Key {
		case "rtcp-mux":
			m.Mux = true
		case "rtcp":
			err = readRTCP(a.Value, m)
		case "crypto":
			if c, ok := parseCrypto(a.Value); ok {
				m.Crypto = append(m.Crypto, c)
			}
		case "ptime", "maxptime", "silenceSupp":
			m.Keep = append(m.Keep, a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readRTCP parses "a=rtcp:port [IN IP4 addr]" (RFC 3605).
func readRTCP(v string, m *mediaDesc) error {
	f := strings.Fields(v)
	if len(f) == 0 {
		return fmt.Errorf("a=rtcp: empty")
	}
	port, err := strconv.Atoi(f[0])
	if err != nil || port <= 0 || port > 65535 {
		return fmt.Errorf("a=rtcp port %q", f[0])
	}
	addr := m.Addr
	if len(f) == 4 {
		if addr, err = netip.ParseAddr(f[3]); err != nil {
			return fmt.Errorf("a=rtcp address %q", f[3])
		}
	}
	m.RTCP = netip.AddrPortFrom(addr.Unmap(), uint16(port))
	return nil
}

func readFormats(md *sdp.MediaDescription, m *mediaDesc) error {
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return fmt.Errorf("m= format %q", f)
		}
		c, ok := rtpmap(md, uint8(pt))
		if !ok {
			continue // dynamic payload type without a=rtpmap: unusable
		}
		c.Fmtp = attrForPT(md, "fmtp", uint8(pt))
		m.Codecs = append(m.Codecs, c)
	}
	return nil
}

func rtpmap(md *sdp.MediaDescription, pt uint8) (codec, bool) {
	v := attrForPT(md, "rtpmap", pt)
	if v == "" {
		c, ok := staticCodecs[pt]
		c.PT = pt
		return c, ok
	}
	parts := strings.Split(v, "/")
	if len(parts) < 2 {
		return codec{}, false
	}
	rate, err := strconv.Atoi(parts[1])
	if err != nil || rate <= 0 {
		return codec{}, false
	}
	c := codec{PT: pt, Name: canonicalName(parts[0]), Rate: rate}
	if len(parts) > 2 {
		c.Channels = parts[2]
	}
	return c, true
}

// canonicalNames spell well-known codecs one way whatever the SDP wrote
// ("pcmu", "Telephone-Event"), so that a Stage can compare Packet.Codec
// with == and never miss a codec it inspects.
var canonicalNames = map[string]string{
	"pcmu": "PCMU", "pcma": "PCMA", "g722": "G722", "g729": "G729", "gsm": "GSM", "g723": "G723",
	"cn": "CN", "telephone-event": telephoneEvent, "opus": "opus", "ilbc": "iLBC", "amr": "AMR", "amr-wb": "AMR-WB",
}

func canonicalName(name string) string {
	if c, ok := canonicalNames[strings.ToLower(name)]; ok {
		return c
	}
	return name
}

// attrForPT returns the value after "<pt> " of the first a=<key>:<pt> ... line.
func attrForPT(md *sdp.MediaDescription, key string, pt uint8) string {
	prefix := strconv.Itoa(int(pt)) + " "
	for _, a := range md.Attributes {
		if a.Key == key && strings.HasPrefix(a.Value, prefix) {
			return strings.TrimSpace(a.Value[len(prefix):])
		}
	}
	return ""
}

// filterCodecs keeps the codecs every policy allows, in offer order.
func filterCodecs(in []codec, policies ...LegPolicy) []codec {
	var out []codec
	for _, c := range in {
		if allAllow(c, policies) {
			out = append(out, c)
		}
	}
	return out
}

func allAllow(c codec, policies []LegPolicy) bool {
	for _, p := range policies {
		if !p.allowsCodec(c.Name) {
			return false
		}
	}
	return true
}

func hasVoice(cs []codec) bool {
	for _, c := range cs {
		if c.isVoice() {
			return true
		}
	}
	return false
}

// matchCodecs returns the codecs of want, renumbered with the payload types
// the same codec has in have (codecs missing from have are left out).
func matchCodecs(want, have []codec) []codec {
	var out []codec
	for _, w := range want {
		for _, h := range have {
			if w.same(h) {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// sdpOrigin keeps o= stable per leg, bumping the version on every new SDP.
type sdpOrigin struct {
	id      uint64
	version uint64
}

// outMedia is what tonewall writes into one SDP toward a leg.
type outMedia struct {
	Proto    string
	Port     int
	RTCPPort int // a=rtcp value; 0 = none
	Mux      bool
	Codecs   []codec
	Dir      string
	Crypto   []cryptoAttr
	Keep     []sdp.Attribute

	Fingerprint string // ours, for DTLS-SRTP; "" = none
	Setup       string // a=setup with Fingerprint
}

// buildSDP writes a complete SDP with tonewall's address. When tmpl is not
// nil, its m= lines other than the audio one at index come out rejected
// (port 0), as an answer must keep the offer's m= lines.
func buildSDP(o *sdpOrigin, advertise netip.Addr, m *outMedia, tmpl *parsedSDP) ([]byte, error) {
	o.version++
	ipv := "IP4"
	if advertise.Is6() {
		ipv = "IP6"
	}
	conn := &sdp.ConnectionInformation{NetworkType: "IN", AddressType: ipv, Address: &sdp.Address{Address: advertise.String()}}
	sd := &sdp.SessionDescription{
		Origin:                sdp.Origin{Username: "tonewall", SessionID: o.id, SessionVersion: o.version, NetworkType: "IN", AddressType: ipv, UnicastAddress: advertise.String()},
		SessionName:           "tonewall",
		ConnectionInformation: conn,
		TimeDescriptions:      []sdp.TimeDescription{{}},
	}
	audio := buildMedia(m, advertise)
	if tmpl == nil {
		sd.MediaDescriptions = []*sdp.MediaDescription{audio}
		return sd.Marshal()
	}
	for i, md := range tmpl.sd.MediaDescriptions {
		if i == tmpl.index {
			sd.MediaDescriptions = append(sd.MediaDescriptions, audio)
			continue
		}
		sd.MediaDescriptions = append(sd.MediaDescriptions, rejected(md))
	}
	return sd.Marshal()
}

func rejected(md *sdp.MediaDescription) *sdp.MediaDescription {
	return &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: md.MediaName.Media, Port: sdp.RangedPort{Value: 0},
		Protos: md.MediaName.Protos, Formats: md.MediaName.Formats,
	}}
}

func buildMedia(m *outMedia, advertise netip.Addr) *sdp.MediaDescription {
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: m.Port}, Protos: strings.Split(m.Proto, "/"),
	}}
	for _, c := range m.Codecs {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(c.PT)))
	}
	for _, c := range m.Codecs {
		md.Attributes = append(md.Attributes, codecAttributes(c)...)
	}
	md.Attributes = append(md.Attributes, m.Keep...)
	if m.RTCPPort != 0 {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtcp", strconv.Itoa(m.RTCPPort)))
	}
	if m.Mux {
		md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("rtcp-mux"))
	}
	for _, c := range m.Crypto {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto", c.sdpValue()))
	}
	if m.Fingerprint != "" {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("fingerprint", m.Fingerprint), sdp.NewAttribute("setup", m.Setup))
	}
	md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute(m.Dir))
	return md
}

func codecAttributes(c codec) []sdp.Attribute {
	v := fmt.Sprintf("%d %s/%d", c.PT, c.Name, c.Rate)
	if c.Channels != "" {
		v += "/" + c.Channels
	}
	attrs := []sdp.Attribute{sdp.NewAttribute("rtpmap", v)}
	if c.Fmtp != "" {
		attrs = append(attrs, sdp.NewAttribute("fmtp", fmt.Sprintf("%d %s", c.PT, c.Fmtp)))
	}
	return attrs
}
