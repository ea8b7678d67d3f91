package media

import (
	"net/netip"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/stretchr/testify/require"
)

type discard struct{}

func (discard) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }

// benchCall negotiates carrier (suite cs, "" = RTP) to contact center
// (suite ccs, "" = RTP) and returns the carrier-side pump plus a context
// to make the carrier's packets (nil for RTP).
func benchCall(b testing.TB, cs, ccs string) (*pump, *srtp.Context, netip.AddrPort) {
	m := newTestManager(b, Config{})
	pol := func(name string) LegPolicy {
		if name == "" {
			return LegPolicy{}
		}
		return LegPolicy{SRTP: "required", Suites: []string{name}}
	}
	s, err := m.NewSession("bench", pol(cs), pol(ccs))
	require.NoError(b, err)
	b.Cleanup(func() { s.Close() })
	var extra []string
	var in *srtp.Context
	proto := "RTP/AVP"
	if cs != "" {
		line, key := keyLine(b, 1, cs)
		extra, in, proto = []string{line}, ctx(b, key), "RTP/SAVP"
	}
	offer, err := s.Offer(Carrier, sdpAt("127.0.0.1", 9, proto, "0", extra...))
	require.NoError(b, err)
	extra, proto = nil, "RTP/AVP"
	if ccs != "" {
		ours := offeredCrypto(b, offer)
		line, _ := keyLine(b, ours[0].Tag, ccs)
		extra, proto = []string{line}, "RTP/SAVP"
	}
	_, err = s.Answer(ContactCenter, sdpAt("127.0.0.1", 11, proto, "0", extra...))
	require.NoError(b, err)
	s.sink = discard{}
	return newPump(s, Carrier, nil, false), in, netip.MustParseAddrPort("127.0.0.1:9")
}

// BenchmarkRelay measures the per-packet path of one direction (20 ms of
// G.711, 160 bytes), without the socket read and write.
func BenchmarkRelay(b *testing.B) {
	const aes80, aes32, gcm = "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM"
	for _, bc := range []struct {
		name, in, out string
		stage         bool
	}{
		{"rtp-rtp", "", "", false},
		{"rtp-rtp+stage", "", "", true},
		{"srtp-srtp/aes-cm-80", aes80, aes80, false},
		{"srtp-srtp/aes-cm-32", aes32, aes32, false},
		{"srtp-srtp/gcm", gcm, gcm, false},
		{"srtp-srtp/gcm+stage", gcm, gcm, true},
		{"srtp-rtp/aes-cm-80", aes80, "", false},
		{"rtp-srtp/gcm", "", gcm, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, in, from := benchCall(b, bc.in, bc.out)
			if bc.stage { // a pass-through stage: the interface call and emit cost
				p.s.SetStage(passStage{})
			}
			const chunk = 4096
			pkts := make([][]byte, chunk)
			payload := make([]byte, 160)
			seq := uint16(0)
			fill := func() {
				for i := range pkts {
					seq++
					raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 1}, Payload: payload}).Marshal()
					require.NoError(b, err)
					if in != nil {
						raw, err = in.EncryptRTP(nil, raw, nil)
						require.NoError(b, err)
					}
					pkts[i] = raw
				}
			}
			fill()
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%chunk == 0 && i > 0 {
					b.StopTimer()
					fill()
					b.StartTimer()
				}
				p.handle(pkts[i%chunk], from)
			}
			b.StopTimer()
			st := p.s.Stats(ContactCenter)
			require.Equal(b, uint64(b.N), st.Sent, "every packet relayed: %+v %+v", p.s.Stats(Carrier), st)
		})
	}
}

// passStage forwards every packet: the stage slot's own cost, an interface
// call and an emit. (stageFunc's out.Emit is a method value, 24 B a packet.)
type passStage struct{}

func (passStage) Process(p *Packet, out Emitter) { out.Emit(p) }
func (passStage) String() string                 { return "pass" }
