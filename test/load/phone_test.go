package main

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pair is two phones wired to each other, as a call through a relay that
// forwards unchanged; b receives until stop, which gives it grace to read
// what has arrived, or until the end of the test.
func pair(t testing.TB, srtpMode string, grace time.Duration) (a, b *phone, stop func()) {
	t.Helper()
	var err error
	a, err = newPhone(srtpMode)
	require.NoError(t, err)
	b, err = newPhone(srtpMode)
	require.NoError(t, err)
	a.src, b.src = b, a
	require.NoError(t, a.connect(endpoint{Port: b.Port(), Key: b.key}, srtpMode))
	require.NoError(t, b.connect(endpoint{Port: a.Port(), Key: a.key}, srtpMode))
	done := make(chan struct{})
	go func() { defer close(done); b.receive() }()
	stop = sync.OnceFunc(func() {
		_ = b.Conn.SetReadDeadline(time.Now().Add(grace))
		<-done
		a.Close()
		b.Close()
	})
	t.Cleanup(stop)
	return a, b, stop
}

// Every suite's packets arrive, are opened and are timed.
func TestPhoneTimesWhatArrives(t *testing.T) {
	for _, mode := range []string{"off", "aes80", "aes32", "gcm"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			a, b, stop := pair(t, mode, 2*time.Second) // a loaded machine under -race
			buf, sealed := make([]byte, 1500), make([]byte, 1500)
			for range 20 {
				a.send(buf, sealed)
			}
			stop()
			require.EqualValues(t, 20, a.sent.Load())
			require.EqualValues(t, 20, b.received)
			require.EqualValues(t, 20, b.timed)
			require.Len(t, b.lat, 20)
		})
	}
}

// BenchmarkPhoneSend is the phones' hot path: one packet built, sealed and
// sent, while the other phone receives, opens and times it.
func BenchmarkPhoneSend(b *testing.B) {
	for _, mode := range []string{"off", "gcm"} {
		b.Run(mode, func(bb *testing.B) {
			a, _, _ := pair(bb, mode, 0)
			buf, sealed := make([]byte, 1500), make([]byte, 1500)
			bb.ReportAllocs()
			for bb.Loop() {
				a.send(buf, sealed)
			}
		})
	}
}
