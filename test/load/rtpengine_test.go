package main

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/stretchr/testify/require"
)

// TestMain lets measure run this test binary as its phones process
// (-role phones), as it runs the load binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "-role" && os.Args[2] == "phones" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func needRtpengine(t *testing.T) {
	t.Helper()
	if rtpengineBinary() == "" {
		t.Skip("rtpengine is not installed (apt-get install rtpengine-daemon): the load program's rtpengine path is not tested")
	}
}

// The rtpengine path, tiny: a few calls for a second through the daemon,
// plain and SRTP re-encrypted, every packet delivered and decrypted by the
// phones, and the daemon's CPU time read.
func TestRtpenginePath(t *testing.T) {
	needRtpengine(t)
	for _, mode := range []string{"off", "aes80"} {
		t.Run(mode, func(t *testing.T) {
			o := options{calls: 3, duration: time.Second, srtp: mode, rtpenginePortMin: 16001}
			res, err := measure(o, "rtpengine")
			require.NoError(t, err)
			require.Greater(t, res.Sent, uint64(100), "the phones sent next to nothing")
			require.GreaterOrEqual(t, float64(res.Received), 0.95*float64(res.Sent), "rtpengine lost packets: %+v", res)
			require.Greater(t, res.Timed, uint64(0), "no packet was timed")
		})
	}
}

// With SRTP, rtpengine runs so that it decrypts and re-encrypts: a packet
// whose authentication tag is broken goes no further. Started without that
// (the control), it passes SRTP through, broken packet and all, which is
// what the load program must not measure.
func TestRtpengineRecrypts(t *testing.T) {
	needRtpengine(t)
	for _, recrypt := range []bool{true, false} {
		t.Run(fmt.Sprint("recrypt=", recrypt), func(t *testing.T) {
			got := relayTampered(t, recrypt)
			if recrypt {
				require.Equal(t, []uint16{1, 3}, got, "the packet with a broken tag came through")
			} else {
				require.Equal(t, []uint16{1, 2, 3}, got, "control: passed through, the broken packet arrives too")
			}
		})
	}
}

// relayTampered sets up one SRTP call through rtpengine between two sockets
// of its own, sends packets 1 to 3 from the carrier side, 2 with its tag
// broken, and returns the sequence numbers of those that reach the contact
// center side and decrypt there (with rtpengine's key toward it).
func relayTampered(t *testing.T, recrypt bool) []uint16 {
	const mode = "aes80"
	s := suites[mode]
	e, err := startRtpengine(16501, 16600, recrypt)
	require.NoError(t, err)
	defer func() {
		require.NoError(t, e.Close())
		_, err := os.Stat(fmt.Sprintf("/proc/%d", e.cmd.Process.Pid))
		require.True(t, os.IsNotExist(err), "rtpengine still running after Close")
	}()
	var conns [2]*net.UDPConn
	phones := make([]endpoint, 2)
	for i := range conns {
		conns[i], err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		defer conns[i].Close()
		phones[i] = endpoint{Port: conns[i].LocalAddr().(*net.UDPAddr).Port, Key: make([]byte, s.keyLen)}
		_, _ = rand.Read(phones[i].Key)
	}
	w := wiring{Peers: make([]endpoint, 2)}
	require.NoError(t, e.setupCalls(options{srtp: mode}, phones, w))

	tx, err := srtp.CreateContext(phones[0].Key[:16], phones[0].Key[16:], s.profile)
	require.NoError(t, err)
	rx, err := srtp.CreateContext(w.Peers[1].Key[:16], w.Peers[1].Key[16:], s.profile)
	require.NoError(t, err)
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: w.Peers[0].Port}
	for seq := uint16(1); seq <= 3; seq++ {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x1234},
			Payload: make([]byte, 160)}
		plain, err := pkt.Marshal()
		require.NoError(t, err)
		sealed, err := tx.EncryptRTP(nil, plain, nil)
		require.NoError(t, err)
		if seq == 2 {
			sealed[len(sealed)-1] ^= 0xff
		}
		_, err = conns[0].WriteToUDP(sealed, to)
		require.NoError(t, err)
		time.Sleep(20 * time.Millisecond)
	}
	var got []uint16
	buf := make([]byte, 1500)
	for {
		_ = conns[1].SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := conns[1].Read(buf)
		if err != nil {
			return got
		}
		var h rtp.Header
		// A broken tag passed through fails here; keep its number all the same.
		if _, err := rx.DecryptRTP(nil, buf[:n], &h); err != nil {
			_, _ = h.Unmarshal(buf[:n])
		}
		got = append(got, h.SequenceNumber)
	}
}
