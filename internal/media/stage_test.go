package media

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stageFunc adapts a function to Stage for tests.
type stageFunc struct {
	name string
	f    func(p *Packet, emit func(*Packet))
}

func (s stageFunc) Process(p *Packet, out Emitter) { s.f(p, out.Emit) }
func (s stageFunc) String() string                 { return s.name }

func stageCall(t *testing.T) (*Session, *phone, *phone, func(seq uint16, pt uint8, payload string)) {
	m := newTestManager(t, Config{})
	s, err := m.NewSession("stage", LegPolicy{}, LegPolicy{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	c, cc := newPhone(t), newPhone(t)
	toC, _ := call(t, s, c, cc, c.sdp(pcmuWithEvents, carrierEvents...), cc.sdp("0 96", ccEvents...))
	return s, c, cc, func(seq uint16, pt uint8, payload string) {
		c.send(toC, hdr(pt, seq, uint32(seq)*160), []byte(payload))
	}
}

func TestStageDropLeavesNoGap(t *testing.T) {
	s, _, cc, send := stageCall(t)
	s.SetStage(stageFunc{"drop-events", func(p *Packet, emit func(*Packet)) {
		if p.Codec != telephoneEvent {
			emit(p)
		}
	}})
	send(1, 0, "a")
	send(2, 101, "digit")
	send(3, 101, "digit")
	send(4, 0, "b")
	a, b := cc.recv(), cc.recv()
	assert.Equal(t, "ab", string(a.Payload)+string(b.Payload))
	assert.Equal(t, a.SequenceNumber+1, b.SequenceNumber, "dropped packets leave no gap")
	assert.Equal(t, a.Timestamp+3*160, b.Timestamp, "timestamps keep real time")
	assert.Equal(t, uint64(2), s.Stats(Carrier).Dropped)
}

func TestStageReplaceAndInject(t *testing.T) {
	s, _, cc, send := stageCall(t)
	s.SetStage(stageFunc{"mask", func(p *Packet, emit func(*Packet)) {
		p.Payload = bytes.Repeat([]byte{0xff}, len(p.Payload)) // replaced in place
		emit(p)
		ev := Packet{Header: p.Header, Payload: []byte{9, 0x80, 0, 160}, Codec: telephoneEvent, ClockRate: 8000}
		emit(&ev) // injected after it
	}})
	send(10, 0, "abc")
	send(12, 0, "def") // 11 lost in the network: the gap stays
	p1, e1, p2, e2 := cc.recv(), cc.recv(), cc.recv(), cc.recv()
	assert.Equal(t, []byte{0xff, 0xff, 0xff}, p1.Payload)
	assert.Equal(t, uint8(96), e1.PayloadType)
	assert.Equal(t, p1.SequenceNumber+1, e1.SequenceNumber)
	assert.Equal(t, e1.SequenceNumber+2, p2.SequenceNumber, "network loss still shows")
	assert.Equal(t, p2.SequenceNumber+1, e2.SequenceNumber)
}

func TestStageDelay(t *testing.T) {
	s, _, cc, send := stageCall(t)
	var held *Packet
	s.SetStage(stageFunc{"delay-1", func(p *Packet, emit func(*Packet)) {
		if held != nil {
			emit(held)
		}
		cp := *p
		cp.Payload = append([]byte(nil), p.Payload...)
		held = &cp
	}})
	send(1, 0, "one")
	send(2, 0, "two")
	send(3, 0, "three")
	a, b := cc.recv(), cc.recv()
	assert.Equal(t, "one", string(a.Payload))
	assert.Equal(t, "two", string(b.Payload))
	assert.Equal(t, a.SequenceNumber+1, b.SequenceNumber)
}

func TestStageOnlyOnCarrierDirection(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "dir", LegPolicy{}, LegPolicy{})
	c, cc := newPhone(t), newPhone(t)
	// The contact center places the call (agent calls the customer out).
	offer, err := s.Offer(ContactCenter, cc.sdp("0"))
	require.NoError(t, err)
	answer, err := s.Answer(Carrier, c.sdp("0"))
	require.NoError(t, err)
	s.SetStage(stageFunc{"drop-all", func(*Packet, func(*Packet)) {}})
	c.send(remote(t, offer), hdr(0, 1, 1), []byte("customer"))
	cc.send(remote(t, answer), hdr(0, 1, 1), []byte("agent"))
	assert.Equal(t, []byte("agent"), c.recv().Payload)
	cc.quiet(50e6)
	s.SetStage(nil)
	c.send(remote(t, offer), hdr(0, 2, 161), []byte("customer"))
	assert.Equal(t, []byte("customer"), cc.recv().Payload)
}

func TestStageSeesCanonicalCodecNames(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "case", LegPolicy{}, LegPolicy{})
	c, cc := newPhone(t), newPhone(t)
	toC, _ := call(t, s, c, cc, c.sdp("0 101", "a=rtpmap:0 pcmu/8000", "a=rtpmap:101 Telephone-Event/8000"), cc.sdp("0 101", "a=rtpmap:101 telephone-event/8000"))
	seen := make(chan string, 2)
	s.SetStage(stageFunc{"spy", func(p *Packet, emit func(*Packet)) { seen <- p.Codec; emit(p) }})
	c.send(toC, hdr(0, 1, 1), []byte("a"))
	c.send(toC, hdr(101, 2, 1), []byte{1, 0, 0, 160})
	assert.Equal(t, "PCMU", <-seen)
	assert.Equal(t, "telephone-event", <-seen)
	assert.Equal(t, uint8(0), cc.recv().PayloadType)
	assert.Equal(t, uint8(101), cc.recv().PayloadType)
}

func TestCodecs(t *testing.T) {
	s, _, _, _ := stageCall(t)
	assert.Equal(t, []string{"PCMU/8000", "telephone-event/8000"}, s.Codecs(ContactCenter))
	assert.Equal(t, []string{"PCMU/8000", "telephone-event/8000"}, s.Codecs(Carrier))
}

func TestPipelineString(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "p", LegPolicy{}, LegPolicy{SRTP: "required", Suites: []string{"AEAD_AES_128_GCM"}})
	assert.Equal(t, "", s.Pipeline(Carrier))
	_, err := s.Offer(Carrier, sdpAt("192.0.2.1", 4000, "RTP/AVP", pcmuWithEvents, carrierEvents...))
	require.NoError(t, err)
	line, _ := keyLine(t, 1, "AEAD_AES_128_GCM")
	_, err = s.Answer(ContactCenter, sdpAt("198.51.100.2", 5000, "RTP/SAVP", "0 96", append(ccEvents, line)...))
	require.NoError(t, err)
	s.SetStage(stageFunc{name: "dtmf-mask"})
	assert.Equal(t, "carrier udp(192.0.2.1:4000) -> pt-map(0>0 101>96) -> dtmf-mask -> renumber -> "+
		"srtp-seal(AEAD_AES_128_GCM) -> contact_center udp(198.51.100.2:5000)", s.Pipeline(Carrier))
	assert.Equal(t, "contact_center udp(198.51.100.2:5000) -> srtp-open(AEAD_AES_128_GCM) -> pt-map(0>0 101>101 96>101) -> "+
		"renumber -> carrier udp(192.0.2.1:4000)", s.Pipeline(ContactCenter))
}
