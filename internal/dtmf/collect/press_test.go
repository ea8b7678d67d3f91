package collect

import (
	"testing"
	"time"
)

const ms = time.Millisecond

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestDuplicates(t *testing.T) {
	const (
		rtp  = SourceRFC4733
		tone = SourceInBand
		info = SourceINFO
	)
	p := func(k byte, s Source, start, dur time.Duration) Press {
		return Press{Key: k, Source: s, At: at(start), Duration: dur}
	}
	tests := []struct {
		name    string
		presses []Press
		want    string // keys accepted, in order
	}{
		{"one source, fast presses all count", []Press{p('1', rtp, 0, 40*ms), p('1', rtp, 80*ms, 40*ms), p('2', rtp, 160*ms, 40*ms)}, "112"},
		{"event and tone, tone 30ms later", []Press{p('1', rtp, 0, 100*ms), p('1', tone, 30*ms, 90*ms)}, "1"},
		{"tone first, event 50ms later", []Press{p('1', tone, 0, 100*ms), p('1', rtp, 50*ms, 100*ms)}, "1"},
		{"event start unknown duration, tone 90ms later", []Press{p('1', rtp, 0, 0), p('1', tone, 90*ms, 0)}, "1"},
		{"tone reported before the event it repeats", []Press{p('1', tone, 40*ms, 80*ms), p('1', rtp, 0, 120*ms)}, "1"},
		{"long press, tone starts late", []Press{p('5', rtp, 0, 600*ms), p('5', tone, 400*ms, 200*ms)}, "5"},
		{"same key pressed again, other source", []Press{p('1', rtp, 0, 100*ms), p('1', tone, 200*ms, 100*ms)}, "11"},
		{"next key 80ms after the end, other source", []Press{p('1', rtp, 0, 100*ms), p('2', tone, 180*ms, 100*ms)}, "12"},
		{"gap under skew is the same press, even a different key", []Press{p('1', rtp, 0, 100*ms), p('4', tone, 150*ms, 60*ms)}, "1"},
		{"three sources, one press", []Press{p('7', rtp, 0, 100*ms), p('7', tone, 20*ms, 90*ms), p('7', info, 180*ms, 250*ms)}, "7"},
		{"info 200ms late still a repeat", []Press{p('7', rtp, 0, 100*ms), p('7', info, 240*ms, 0)}, "7"},
		{"info 300ms after the end is a new press", []Press{p('7', rtp, 0, 100*ms), p('7', info, 400*ms, 0)}, "77"},
		{"both sources of a sequence", []Press{
			p('1', rtp, 0, 100*ms), p('1', tone, 25*ms, 80*ms),
			p('2', rtp, 250*ms, 100*ms), p('2', tone, 270*ms, 90*ms),
			p('3', tone, 500*ms, 100*ms), p('3', rtp, 530*ms, 100*ms),
		}, "123"},
		{"a dropped repeat is not a reference", []Press{p('1', rtp, 0, 100*ms), p('1', tone, 50*ms, 200*ms), p('2', rtp, 200*ms, 100*ms)}, "12"},
		{"event lost, tone alone counts", []Press{p('1', rtp, 0, 100*ms), p('1', tone, 10*ms, 90*ms), p('2', tone, 300*ms, 100*ms)}, "12"},
		{"star and hash too", []Press{p('*', rtp, 0, 100*ms), p('*', tone, 20*ms, 100*ms), p('#', rtp, 300*ms, 100*ms), p('#', info, 350*ms, 100*ms)}, "*#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h history
			got := ""
			for _, pr := range tt.presses {
				if h.duplicate(pr, DefaultSkew, DefaultInfoSkew) {
					continue
				}
				h.add(pr.span())
				got += string(pr.Key)
			}
			if got != tt.want {
				t.Errorf("accepted %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDuplicateAcrossFields: the repeat of the key that completed a field
// must not become the first digit of the next one.
func TestDuplicateAcrossFields(t *testing.T) {
	m, _ := New(Options{Fields: []Field{{Kind: KindDigits, Name: "code", Min: 3, Max: 3}, {Kind: KindExpiry}}})
	m.Start(t0)
	for i, k := range []byte("123") {
		start := time.Duration(i) * 250 * ms
		m.Press(Press{Key: k, Source: SourceRFC4733, At: at(start), Duration: 100 * ms})
		m.Press(Press{Key: k, Source: SourceInBand, At: at(start + 20*ms), Duration: 100 * ms})
	}
	st := m.Status()
	if st.Field != "expiry" || st.Digits != 0 || !st.Fields[0].Complete {
		t.Fatalf("status %+v", st)
	}
	evs := m.Press(Press{Key: '3', Source: SourceINFO, At: at(600 * ms)})
	if len(evs) != 1 || evs[0].Type != EventDuplicate || evs[0].Source != SourceINFO {
		t.Fatalf("events %+v", evs)
	}
}

func TestHistoryBounded(t *testing.T) {
	var h history
	for i := range 1000 {
		h.add(Press{Source: Source(i % 3), At: at(time.Duration(i) * 200 * ms)}.span())
	}
	if h.n != 1000 || len(h.spans) != 8 {
		t.Fatal("history grew")
	}
}

func TestKeys(t *testing.T) {
	for k := range 256 {
		want := (k >= '0' && k <= '9') || k == '*' || k == '#' || (k >= 'A' && k <= 'D') || (k >= 'a' && k <= 'd')
		if validKey(byte(k)) != want {
			t.Errorf("validKey(%d) = %v", k, !want)
		}
	}
}
