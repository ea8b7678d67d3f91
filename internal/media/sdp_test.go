package media

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	aesKey = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz" // 30 bytes
)

func TestOfferRewrite(t *testing.T) {
	tests := []struct {
		name          string
		carrier, cc   LegPolicy
		offer         []byte
		want, notWant []string
		code          int // SDPError code; 0 = success
	}{
		{name: "address and port are tonewall's", offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0"),
			want: []string{"c=IN IP4 127.0.0.1", "m=audio ", "a=rtpmap:0 PCMU/8000", "a=rtcp:", "a=sendrecv"}, notWant: []string{"192.0.2.1", "m=audio 5004 "}}, // not a bare "5004": the random o= session id may hold it
		{name: "codecs filtered by the other leg", cc: LegPolicy{Codecs: []string{"PCMA"}},
			offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0 8 101", "a=rtpmap:101 telephone-event/8000"),
			want:  []string{"RTP/AVP 8 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000"}, notWant: []string{"PCMU"}},
		{name: "codecs in the receiving trunk's preference order", cc: LegPolicy{Codecs: []string{"G722", "PCMA", "PCMU"}},
			offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0 8 101 9", "a=rtpmap:101 telephone-event/8000"),
			want:  []string{"RTP/AVP 9 8 0 101"}},
		{name: "codecs filtered by the offering leg", carrier: LegPolicy{Codecs: []string{"G722"}},
			offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0 9"), want: []string{"RTP/AVP 9"}, notWant: []string{"PCMU"}},
		{name: "telephone-event stripped when the other leg uses inband", cc: LegPolicy{DTMF: "inband"},
			offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0 101", "a=rtpmap:101 telephone-event/8000"), notWant: []string{"telephone-event"}},
		{name: "fmtp and ptime kept", offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "111", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 useinbandfec=1", "a=ptime:20"),
			want: []string{"a=rtpmap:111 opus/48000/2", "a=fmtp:111 useinbandfec=1", "a=ptime:20"}},
		{name: "no common codec is 488", cc: LegPolicy{Codecs: []string{"G729"}}, offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0"), code: 488},
		{name: "only telephone-event is 488", offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "101", "a=rtpmap:101 telephone-event/8000"), code: 488},
		{name: "sendonly kept", offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0", "a=sendonly"), want: []string{"a=sendonly"}, notWant: []string{"a=sendrecv"}},
		{name: "inactive kept", offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0", "a=inactive"), want: []string{"a=inactive"}},
		{name: "RFC 2543 hold becomes sendonly", offer: sdpAt("0.0.0.0", 5004, "RTP/AVP", "0"), want: []string{"a=sendonly", "c=IN IP4 127.0.0.1"}},
		{name: "carrier crypto never reaches the contact center",
			carrier: LegPolicy{SRTP: "optional"},
			offer:   sdpAt("192.0.2.1", 5004, "RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+aesKey, "a=fingerprint:sha-256 AB:CD", "a=setup:actpass"),
			want:    []string{"RTP/AVP 0"}, notWant: []string{"crypto", "fingerprint", "setup", "SAVP"}},
		{name: "SAVP offered to a trunk with srtp off is 488", offer: sdpAt("192.0.2.1", 5004, "RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+aesKey), code: 488},
		{name: "srtp required without crypto is 488", carrier: LegPolicy{SRTP: "required"}, offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0"), code: 488},
		{name: "srtp required with an unwanted suite is 488", carrier: LegPolicy{SRTP: "required", Suites: []string{"AEAD_AES_128_GCM"}},
			offer: sdpAt("192.0.2.1", 5004, "RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+aesKey), code: 488},
		{name: "fresh crypto for an srtp-required contact center", cc: LegPolicy{SRTP: "required"}, offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0"),
			want: []string{"RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:", "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:", "a=crypto:3 AEAD_AES_128_GCM inline:"}, notWant: []string{aesKey}},
		{name: "optional srtp offers RTP/AVP with crypto (RFC 8643)", cc: LegPolicy{SRTP: "optional", Suites: []string{"AEAD_AES_128_GCM"}}, offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0"),
			want: []string{"RTP/AVP 0", "a=crypto:1 AEAD_AES_128_GCM inline:"}, notWant: []string{"AES_CM"}},
		{name: "DTLS offer is 488 for now", carrier: LegPolicy{SRTP: "required"}, offer: sdpAt("192.0.2.1", 5004, "UDP/TLS/RTP/SAVP", "0", "a=fingerprint:sha-256 AB:CD"), code: 488},
		{name: "rtcp-mux passed on", offer: sdpAt("192.0.2.1", 5004, "RTP/AVP", "0", "a=rtcp-mux"), want: []string{"a=rtcp-mux", "a=rtcp:"}},
		{name: "garbage is 488", offer: []byte("hello"), code: 488},
		{name: "no audio is 488", offer: []byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n"), code: 488},
		{name: "hostname in c= is 488", offer: sdpAt("example.com", 5004, "RTP/AVP", "0"), code: 488},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t, Config{})
			s := testSession(t, m, "sdp", tt.carrier, tt.cc)
			out, err := s.Offer(Carrier, tt.offer)
			if tt.code != 0 {
				var se *SDPError
				require.True(t, errors.As(err, &se), "got %v", err)
				assert.Equal(t, tt.code, se.Code)
				assert.Equal(t, 0, m.PortsInUse(), "no port held after a rejected offer")
				return
			}
			require.NoError(t, err)
			for _, w := range tt.want {
				assert.Contains(t, string(out), w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, string(out), w)
			}
		})
	}
}

func TestAnswerRewrite(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "ans", LegPolicy{}, LegPolicy{})
	offer := []byte(strings.Join([]string{"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 5004 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000", "m=video 5006 RTP/AVP 96", "a=rtpmap:96 H264/90000"}, "\r\n") + "\r\n")
	out, err := s.Offer(Carrier, offer)
	require.NoError(t, err)
	assert.NotContains(t, string(out), "video", "only audio goes on")
	answer, err := s.Answer(ContactCenter, sdpAt("198.51.100.7", 6000, "RTP/AVP", "8 97", "a=rtpmap:97 telephone-event/8000"))
	require.NoError(t, err)
	a := string(answer)
	assert.Contains(t, a, "m=audio ")
	assert.Contains(t, a, "RTP/AVP 8 101", "answer uses the carrier's payload types")
	assert.Contains(t, a, "m=video 0 RTP/AVP 96", "the video stream is declined")
	assert.NotContains(t, a, "198.51.100.7")

	// 183 then 200: the second answer wins, and o= version grows.
	again, err := s.Answer(ContactCenter, sdpAt("198.51.100.7", 6000, "RTP/AVP", "8"))
	require.NoError(t, err)
	assert.NotEqual(t, a, string(again))
}

func TestAnswerWithForeignCodecIs488(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "ans", LegPolicy{}, LegPolicy{})
	_, err := s.Offer(Carrier, sdpAt("192.0.2.1", 5004, "RTP/AVP", "0"))
	require.NoError(t, err)
	_, err = s.Answer(ContactCenter, sdpAt("198.51.100.7", 6000, "RTP/AVP", "18"))
	assert.ErrorIs(t, err, ErrNoCommonCodec)
	_, err = s.Answer(Carrier, sdpAt("198.51.100.7", 6000, "RTP/AVP", "0"))
	assert.ErrorIs(t, err, ErrNoOffer, "the offerer cannot answer its own offer")
}

func TestConfigValidate(t *testing.T) {
	var c Config
	require.NoError(t, c.Validate())
	assert.Equal(t, Config{Address: "127.0.0.1", Advertise: "127.0.0.1", PortMin: 20000, PortMax: 30000,
		Inactivity: DefaultInactivity, Drain: DefaultDrain}, c)
	for _, bad := range []Config{{Address: "nope"}, {PortMin: 3000, PortMax: 2000}, {PortMin: 80, PortMax: 90}, {Advertise: "x"}} {
		assert.Error(t, bad.Validate(), "%+v", bad)
	}
	odd := Config{PortMin: 20001, PortMax: 20010}
	require.NoError(t, odd.Validate())
	assert.Equal(t, 20002, odd.PortMin)
}

func TestLeg(t *testing.T) {
	assert.Equal(t, "carrier", Carrier.String())
	assert.Equal(t, "contact_center", ContactCenter.String())
	assert.Equal(t, ContactCenter, Carrier.Other())
	assert.Equal(t, Carrier, ContactCenter.Other())
}

func TestPolicyValidation(t *testing.T) {
	m := newTestManager(t, Config{})
	for _, p := range []LegPolicy{{SRTP: "maybe"}, {DTMF: "smoke"}, {Suites: []string{"NULL"}}} {
		_, err := m.NewSession("x", p, LegPolicy{})
		assert.Error(t, err)
	}
}
