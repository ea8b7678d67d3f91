package media

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// RFC 3711 appendix B.3: key derivation test vectors.
func TestDeriveKeyRFC3711(t *testing.T) {
	s, _ := suiteByName("AES_CM_128_HMAC_SHA1_80")
	master := cryptoAttr{Suite: s, Key: append(unhex(t, "E1F97A0D3E018BE0D64FA32C06DE4139"), unhex(t, "0EC675AD498AFEEBB6960B3AABE6")...)}
	for _, tt := range []struct {
		label byte
		n     int
		want  string
	}{
		{labelEncryption, 16, "C61E7A93744F39EE10734AFE3FF7A087"},
		{labelSalt, 14, "30CBBC08863D8C85D49DB34A9AE1"},
		{labelAuth, 20, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"},
	} {
		got, err := deriveKey(master, tt.label, tt.n)
		require.NoError(t, err)
		assert.Equal(t, strings.ToLower(tt.want), hex.EncodeToString(got), "label %d", tt.label)
	}
}

// sealed makes an SRTP packet with our transform, as the sending leg would.
func sealedPacket(t testing.TB, s *sealer, seq uint16, payload string) []byte {
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, SSRC: 7}, Payload: []byte(payload)}).Marshal()
	require.NoError(t, err)
	return s.seal(make([]byte, 0, 1600), raw, 12, 7, seq)
}

func TestSealerOpenerRolloverAndReplayWindow(t *testing.T) {
	for _, name := range allSuiteNames() {
		t.Run(name, func(t *testing.T) {
			s, _ := suiteByName(name)
			key, err := newCrypto(1, s)
			require.NoError(t, err)
			tx, err := newTransform(key)
			require.NoError(t, err)
			rx, err := newTransform(key)
			require.NoError(t, err)
			se, op := &sealer{t: tx}, &opener{t: rx}
			open := func(b []byte) error {
				_, err := op.open(make([]byte, 1600), b, 12, 7, uint16(b[2])<<8|uint16(b[3]))
				return err
			}
			var pkts [][]byte
			for seq := uint16(65530); seq != 6; seq++ { // across the wrap: ROC 0 → 1
				pkts = append(pkts, sealedPacket(t, se, seq, "x"))
			}
			for i, p := range pkts {
				if i == 3 {
					continue // arrives late, below
				}
				require.NoError(t, open(p), "packet %d", i)
			}
			require.NoError(t, open(pkts[3]), "late packet from before the wrap")
			assert.ErrorIs(t, open(pkts[3]), errSRTPReplay)
			assert.ErrorIs(t, open(pkts[len(pkts)-1]), errSRTPReplay)
			bad := sealedPacket(t, se, 6, "x")
			bad[len(bad)-1] ^= 1
			assert.ErrorIs(t, open(bad), errSRTPAuth)
			assert.ErrorIs(t, open(sealedPacket(t, se, 7, "")[:14]), errSRTPShort)
			require.NoError(t, open(sealedPacket(t, se, 8, "y")), "failures leave the state intact")
		})
	}
}

func TestOpenerForgetsOldestSSRC(t *testing.T) {
	s, _ := suiteByName("AEAD_AES_128_GCM")
	key, _ := newCrypto(1, s)
	rx, err := newTransform(key)
	require.NoError(t, err)
	op := &opener{t: rx}
	for ssrc := uint32(1); ssrc <= 100; ssrc++ {
		tx, _ := newTransform(key)
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1, SSRC: ssrc}}).Marshal()
		b := tx.seal(make([]byte, 0, 100), raw, 12, ssrc, 1)
		_, err := op.open(make([]byte, 100), b, 12, ssrc, 1)
		require.NoError(t, err)
	}
	assert.Len(t, op.states, maxSSRCs, "state stays bounded")
}
