package dtmf

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseInfo(t *testing.T) {
	relay := ContentTypeDTMFRelay
	tests := []struct {
		name, ct, body string
		key            Key
		dur            time.Duration
	}{
		{"canonical", relay, "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond},
		{"LF only", relay, "Signal=5\nDuration=160\n", '5', 160 * time.Millisecond},
		{"sloppy spaces and case", relay, "  signal = 7 \r\n DURATION= 250\r\n", '7', 250 * time.Millisecond},
		{"missing duration", relay, "Signal=9\r\n", '9', 0},
		{"no trailing newline", relay, "Signal=1\r\nDuration=100", '1', 100 * time.Millisecond},
		{"star", relay, "Signal=*\r\nDuration=100\r\n", '*', 100 * time.Millisecond},
		{"hash", relay, "Signal=#\r\n", '#', 0},
		{"10 is star", relay, "Signal=10\r\n", '*', 0},
		{"11 is hash", relay, "Signal=11\r\n", '#', 0},
		{"A", relay, "Signal=A\r\n", 'A', 0},
		{"lower-case d", relay, "Signal=d\r\n", 'D', 0},
		{"unknown lines ignored", relay, "Foo=bar\r\nSignal=3\r\nDuration=60\r\n", '3', 60 * time.Millisecond},
		{"content type with params and case", "Application/DTMF-Relay; charset=utf-8", "Signal=2\r\n", '2', 0},
		{"application/dtmf", ContentTypeDTMF, "4", '4', 0},
		{"application/dtmf with newline", ContentTypeDTMF, "#\r\n", '#', 0},
		{"application/dtmf numeric", ContentTypeDTMF, "11", '#', 0},
	}
	for _, tt := range tests {
		k, d, err := ParseInfo(tt.ct, []byte(tt.body))
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.key, k, tt.name)
		require.Equal(t, tt.dur, d, tt.name)
	}
}

func TestParseInfoErrors(t *testing.T) {
	relay := ContentTypeDTMFRelay
	tests := []struct {
		name, ct, body string
		err            error
	}{
		{"no signal", relay, "Duration=160\r\n", ErrBadBody},
		{"empty", relay, "", ErrBadBody},
		{"bad signal", relay, "Signal=X\r\n", ErrBadSignal},
		{"signal 16", relay, "Signal=16\r\n", ErrBadSignal},
		{"two signals", relay, "Signal=1\r\nSignal=2\r\n", ErrBadSignal},
		{"bad duration", relay, "Signal=1\r\nDuration=abc\r\n", ErrBadDuration},
		{"negative duration", relay, "Signal=1\r\nDuration=-5\r\n", ErrBadDuration},
		{"huge duration", relay, "Signal=1\r\nDuration=99999999999\r\n", ErrBadDuration},
		{"dtmf two keys", ContentTypeDTMF, "12x", ErrBadSignal},
		{"other content type", "application/sdp", "Signal=1", ErrBadBody},
	}
	for _, tt := range tests {
		_, _, err := ParseInfo(tt.ct, []byte(tt.body))
		require.ErrorIs(t, err, tt.err, tt.name)
		require.NotContains(t, err.Error(), "1", "%s: an error must not quote a digit", tt.name)
	}
}

func TestInfoRoundTrip(t *testing.T) {
	for _, k := range Keys {
		b, err := AppendInfoRelay(nil, k, 160*time.Millisecond)
		require.NoError(t, err)
		got, d, err := ParseInfo(ContentTypeDTMFRelay, b)
		require.NoError(t, err)
		require.Equal(t, k, got)
		require.Equal(t, 160*time.Millisecond, d)
		b, err = AppendInfoDTMF(nil, k)
		require.NoError(t, err)
		got, _, err = ParseInfo(ContentTypeDTMF, b)
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	_, err := AppendInfoRelay(nil, 'x', 0)
	require.ErrorIs(t, err, ErrBadSignal)
	require.True(t, IsInfoDTMF("application/dtmf-relay;x=y"))
	require.False(t, IsInfoDTMF("text/plain"))
}

func FuzzParseInfo(f *testing.F) {
	f.Add(ContentTypeDTMFRelay, []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add(ContentTypeDTMF, []byte("#"))
	f.Add("application/dtmf-relay; a=b", []byte("signal = 11\nduration=1"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		k, d, err := ParseInfo(ct, body)
		if err != nil {
			for _, c := range "0123456789" {
				if strings.ContainsRune(err.Error(), c) {
					t.Fatalf("error quotes a digit: %v", err)
				}
			}
			return
		}
		if !k.Valid() || d < 0 {
			t.Fatalf("accepted invalid key %q or duration %v", k, d)
		}
		b, err := AppendInfoRelay(nil, k, d)
		if err != nil {
			t.Fatal(err)
		}
		k2, d2, err := ParseInfo(ContentTypeDTMFRelay, b)
		if err != nil || k2 != k || d2 != d {
			t.Fatalf("round trip %q %v -> %q %v %v", k, d, k2, d2, err)
		}
	})
}
