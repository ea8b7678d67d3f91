package dtmf

import (
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeEventVectors(t *testing.T) {
	tests := []struct {
		hex  string
		want Event
	}{
		{"050a00a0", Event{Code: 5, Volume: 10, Duration: 160}},
		{"058a0320", Event{Code: 5, End: true, Volume: 10, Duration: 800}},
		{"0bca0140", Event{Code: 11, End: true, Volume: 10, Duration: 320}}, // R bit set: ignored
		{"0f3fffff", Event{Code: 15, Volume: 63, Duration: 65535}},
		{"050a00a0deadbeef", Event{Code: 5, Volume: 10, Duration: 160}}, // trailing bytes ignored
	}
	for _, tt := range tests {
		p, _ := hex.DecodeString(tt.hex)
		got, err := DecodeEvent(p)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, tt.hex)
	}
	_, err := DecodeEvent([]byte{5, 10, 0})
	require.ErrorIs(t, err, ErrShortPayload)
}

func TestEventRoundTrip(t *testing.T) {
	for _, e := range []Event{{Code: 0}, {Code: 9, End: true, Volume: 63, Duration: 65535}, {Code: 12, Volume: 7, Duration: 1}} {
		got, err := DecodeEvent(AppendEvent(nil, e))
		require.NoError(t, err)
		require.Equal(t, e, got)
	}
}

// press returns the payloads of one RFC 4733 press as a sender would send them.
func pressPackets(t *testing.T, k Key, dur int) []EventPacket {
	p, err := AppendEventPackets(nil, k, 10, dur, 160)
	require.NoError(t, err)
	return p
}

func TestAppendEventPackets(t *testing.T) {
	p := pressPackets(t, '7', 800)
	require.Len(t, p, 4+3)
	require.True(t, p[0].Marker)
	for i, pk := range p {
		require.Equal(t, uint8(7), pk.Code)
		require.Equal(t, i >= 4, pk.End, "packet %d", i)
		require.Equal(t, i > 0, !pk.Marker)
	}
	require.Equal(t, uint16(800), p[6].Duration)
	long := pressPackets(t, '1', 70000)
	last := long[len(long)-1]
	require.True(t, last.End)
	require.Equal(t, uint32(65535), last.TSOffset)
	require.Equal(t, uint16(70000-65535), last.Duration)
	_, err := AppendEventPackets(nil, Key('x'), 10, 800, 160)
	require.ErrorIs(t, err, ErrBadEvent)
}

// feed sends packets of presses at base timestamps through a receiver and
// returns what it reported as "k:dur" strings.
type sent struct {
	ts uint32
	p  []byte
}

func packetsAt(ts uint32, pk []EventPacket) []sent {
	var out []sent
	for _, p := range pk {
		out = append(out, sent{ts + p.TSOffset, AppendEvent(nil, p.Event)})
	}
	return out
}

func receiveAll(t *testing.T, in []sent) []string {
	var r EventReceiver
	var evs []KeyEvent
	var err error
	for _, s := range in {
		evs, err = r.Receive(s.ts, s.p, evs)
		require.NoError(t, err)
	}
	evs = r.Flush(evs)
	var out []string
	for _, e := range evs {
		if e.End {
			out = append(out, fmt.Sprintf("%c up %d", e.Key, e.Duration))
		} else {
			out = append(out, fmt.Sprintf("%c down", e.Key))
		}
	}
	return out
}

func join(parts ...[]sent) []sent {
	var out []sent
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestEventReceiver(t *testing.T) {
	one := func(k Key, ts uint32, dur int) []sent { return packetsAt(ts, pressPackets(t, k, dur)) }
	tests := []struct {
		name string
		in   []sent
		want []string
	}{
		{"end packet sent 3x counts once", one('1', 1000, 800), []string{"1 down", "1 up 800"}},
		{"same digit again, new timestamp", join(one('1', 1000, 800), one('1', 3000, 800)),
			[]string{"1 down", "1 up 800", "1 down", "1 up 800"}},
		{"late retransmit of an ended event is ignored", join(one('1', 1000, 800), one('1', 1000, 800)[5:]),
			[]string{"1 down", "1 up 800"}},
		{"start packets lost: first packet seen is an end", one('2', 500, 800)[4:], []string{"2 down", "2 up 800"}},
		{"all end packets lost, next event closes it", join(one('3', 100, 800)[:4], one('4', 2000, 480)),
			[]string{"3 down", "3 up 640", "4 down", "4 up 480"}},
		{"long event in segments is one press", one('5', 10, 150000), []string{"5 down", "5 up 150000"}},
		{"older timestamp after a newer event is ignored", join(one('6', 5000, 480), one('7', 4000, 480)),
			[]string{"6 down", "6 up 480"}},
		{"timestamp wrap", join(one('8', 0xFFFFFF00, 480), one('9', 0x100, 480)),
			[]string{"8 down", "8 up 480", "9 down", "9 up 480"}},
		{"flush ends an unfinished press", one('#', 100, 800)[:2], []string{"# down", "# up 320"}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, receiveAll(t, tt.in), tt.name)
	}
}

func TestEventReceiverDurationWrap(t *testing.T) {
	// A non-compliant sender lets the 16-bit duration wrap within one timestamp.
	var in []sent
	for d := 160; d <= 80000; d += 160 {
		in = append(in, sent{42, AppendEvent(nil, Event{Code: 1, Duration: uint16(d)})})
	}
	final := 80000
	in = append(in, sent{42, AppendEvent(nil, Event{Code: 1, End: true, Duration: uint16(final)})})
	require.Equal(t, []string{"1 down", "1 up 80000"}, receiveAll(t, in))
}

func TestEventReceiverRejects(t *testing.T) {
	var r EventReceiver
	_, err := r.Receive(1, []byte{16, 0, 0, 160}, nil) // flash, not a key
	require.ErrorIs(t, err, ErrBadEvent)
	_, err = r.Receive(1, []byte{1}, nil)
	require.ErrorIs(t, err, ErrShortPayload)
}

func TestRedundancy(t *testing.T) {
	// Primary: '2' at ts 2000 duration 160; one redundant block 320 samples
	// earlier: '1' ending (duration 800) at ts 1680.
	off := 320
	red := []byte{0x80 | 101, byte(off >> 6), byte(off&0x3F) << 2, 4, 101}
	red = AppendEvent(red, Event{Code: 1, End: true, Volume: 10, Duration: 800})
	red = AppendEvent(red, Event{Code: 2, Volume: 10, Duration: 160})
	blocks, err := SplitRedundancy(red, nil)
	require.NoError(t, err)
	require.Len(t, blocks, 2)
	require.Equal(t, uint16(320), blocks[0].TSOffset)
	require.Equal(t, uint8(101), blocks[1].PT)
	var r EventReceiver
	evs, err := r.Receive(1680, AppendEvent(nil, Event{Code: 1, Volume: 10, Duration: 640}), nil)
	require.NoError(t, err)
	evs, err = r.ReceiveRedundant(2000, red, 101, evs)
	require.NoError(t, err)
	require.Len(t, evs, 3) // 1 down, 1 up (recovered from redundancy), 2 down
	require.True(t, evs[1].End)
	require.Equal(t, uint32(800), evs[1].Duration)
	for _, bad := range [][]byte{{}, {0x80}, {0x80 | 101, 0, 0, 200, 101}} {
		_, err := SplitRedundancy(bad, nil)
		require.ErrorIs(t, err, ErrRedundancy)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte{5, 10, 0, 160}, uint32(0))
	f.Add([]byte{0x80 | 101, 0, 0, 4, 101, 1, 0x8a, 3, 32, 2, 10, 0, 160}, uint32(1000))
	f.Add([]byte{}, uint32(7))
	f.Fuzz(func(t *testing.T, p []byte, ts uint32) {
		var r EventReceiver
		e, err := DecodeEvent(p)
		if err == nil {
			got, err := DecodeEvent(AppendEvent(nil, e))
			if err != nil || got != e {
				t.Fatalf("round trip: %+v -> %+v, %v", e, got, err)
			}
		}
		evs, _ := r.Receive(ts, p, nil)
		evs, _ = r.ReceiveRedundant(ts, p, 101, evs)
		evs = r.Flush(evs)
		downs, ups := 0, 0
		for _, ev := range evs {
			if ev.End {
				ups++
			} else {
				downs++
			}
		}
		if ups != downs {
			t.Fatalf("unbalanced presses: %d down, %d up", downs, ups)
		}
	})
}
