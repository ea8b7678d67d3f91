package sbctest

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/stretchr/testify/require"
)

// twoPhones are a and b, a sending to b; closed when the test ends.
func twoPhones(t *testing.T) (a, b *Phone) {
	t.Helper()
	a, err := NewPhone()
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	b, err = NewPhone()
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	a.To = b.Conn.LocalAddr().(*net.UDPAddr)
	return a, b
}

// keyed gives a and b one SRTP key, a sealing and b opening.
func keyed(t *testing.T, a, b *Phone, profile srtp.ProtectionProfile) {
	salt, err := profile.SaltLen()
	require.NoError(t, err)
	key := bytes.Repeat([]byte{7}, 16+salt)
	a.Seal, err = srtp.CreateContext(key[:16], key[16:], profile)
	require.NoError(t, err)
	b.Open, err = srtp.CreateContext(key[:16], key[16:], profile)
	require.NoError(t, err)
}

func TestPhoneKeyPressArrives(t *testing.T) {
	a, b := twoPhones(t)
	keyed(t, a, b, srtp.ProtectionProfileAeadAes128Gcm)
	b.Listen()
	a.Pace = -1
	require.NoError(t, a.Silence(2))
	require.NoError(t, a.Key('5'))
	require.Eventually(t, func() bool { return len(b.Received()) == 10 }, 2*time.Second, 5*time.Millisecond)
	require.Equal(t, 8, b.Count(101))
	got := b.Received()
	require.True(t, got[2].Marker, "the event's first packet has the marker")
	require.Equal(t, []byte{5, 10, 0, 160}, got[2].Payload)
	require.Equal(t, uint16(10), got[9].SequenceNumber)
	require.Equal(t, uint32(320), got[9].Timestamp, "an event keeps the clock of its start")
}

// What fails to open is dropped, and what follows it still arrives.
func TestPhoneDropsWhatDoesNotOpen(t *testing.T) {
	a, b := twoPhones(t)
	a.Pace = -1
	require.NoError(t, a.Frame([]byte("plain")))
	keyed(t, a, b, srtp.ProtectionProfileAes128CmHmacSha1_80)
	require.NoError(t, a.Frame([]byte("sealed")))
	buf, opened := make([]byte, 1500), make([]byte, 1500)
	got, err := b.Read(buf, opened)
	require.NoError(t, err)
	require.Equal(t, []byte("sealed"), got[12:])
	require.Equal(t, byte(2), got[3], "the second packet sent")
}

// WriteTo and Read allocate nothing of their own: nothing in plain RTP,
// and in SRTP only what pion's ciphers allocate.
func TestPhoneWriteAndReadAllocateNothing(t *testing.T) {
	for _, profile := range []srtp.ProtectionProfile{0, srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm} {
		a, b := twoPhones(t)
		buf, sealed, opened := make([]byte, 1500), make([]byte, 1500), make([]byte, 1500)
		var want float64
		if profile != 0 {
			keyed(t, a, b, profile)
			want = ciphersAllocs(t, profile)
		}
		to := a.To.AddrPort()
		payload := bytes.Repeat([]byte{0xff}, 160)
		var got []byte
		var werr, rerr error
		allocs := testing.AllocsPerRun(100, func() {
			werr = a.WriteTo(buf, sealed, a.Next(0, false, 0), payload, to)
			got, rerr = b.Read(buf, opened)
		})
		require.NoError(t, werr)
		require.NoError(t, rerr)
		require.Len(t, got, 12+160)
		require.Equal(t, want, allocs, "profile %v", profile)
	}
}

// ciphersAllocs is what pion allocates to seal and open one packet.
func ciphersAllocs(t *testing.T, profile srtp.ProtectionProfile) float64 {
	a, b := &Phone{SSRC: 1}, &Phone{}
	keyed(t, a, b, profile)
	buf, sealed, opened := make([]byte, 1500), make([]byte, 1500), make([]byte, 1500)
	var h rtp.Header
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		h = a.Next(0, false, 0)
		n, _ := (&rtp.Packet{Header: h, Payload: buf[1000:1160]}).MarshalTo(buf)
		sealed, _ = a.Seal.EncryptRTP(sealed, buf[:n], &h)
		_, err = b.Open.DecryptRTP(opened, sealed, &h)
	})
	require.NoError(t, err)
	return allocs
}

func TestRTCPPhoneHasTheNextPort(t *testing.T) {
	p, err := NewRTCPPhone()
	require.NoError(t, err)
	defer p.Close()
	require.Zero(t, p.Port()%2)
	require.Equal(t, p.Port()+1, p.RTCP.LocalAddr().(*net.UDPAddr).Port)
}
