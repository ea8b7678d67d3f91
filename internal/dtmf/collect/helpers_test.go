package collect

import (
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// Test cards (well-known test numbers; Luhn-valid).
const (
	visa16   = "4111111111111111"
	visa13   = "4222222222222"
	visa19   = "4000000000000000006"
	mc16     = "5555555555554444"
	amex15   = "378282246310005"
	disc16   = "6011111111111117"
	badLuhn  = "4111111111111112"
	expiryOK = "0931"
)

var unknownPAN string

func init() {
	// 16 digits starting 9, made Luhn-valid: a well-formed card of no known brand.
	p := []byte("911111111111111")
	unknownPAN = string(append(p, card.LuhnDigit(p)))
}

func fields(kinds ...Kind) []Field {
	out := make([]Field, len(kinds))
	for i, k := range kinds {
		out[i] = Field{Kind: k}
	}
	return out
}

// driver runs a Machine the way the capture code will: presses 250 ms apart
// from one source, timers ticked when asked. Every event is kept.
type driver struct {
	t   *testing.T
	m   *Machine
	now time.Time
	evs []Event
	// after, when set, sees the machine after every step (for the leak scan).
	after func(*Machine)
}

func (d *driver) add(evs []Event) {
	d.evs = append(d.evs, evs...)
	if d.after != nil {
		d.after(d.m)
	}
}

func newDriver(t *testing.T, o Options) *driver {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d := &driver{t: t, m: m, now: t0}
	d.evs = append(d.evs, m.Start(t0)...)
	return d
}

// keys presses each key of s; '.' waits out the deadline and ticks.
func (d *driver) keys(s string) *driver {
	for i := range len(s) {
		if s[i] == '.' {
			d.expire()
			continue
		}
		d.now = d.now.Add(250 * time.Millisecond)
		d.add(d.m.Press(Press{Key: s[i], Source: SourceRFC4733, At: d.now, Duration: 100 * time.Millisecond}))
	}
	return d
}

func (d *driver) expire() {
	dl, ok := d.m.Deadline()
	if !ok {
		d.t.Fatal("no deadline to wait for")
	}
	d.now = dl
	d.add(d.m.Tick(d.now))
}

func (d *driver) run(f func(*Machine) []Event) *driver {
	d.add(f(d.m))
	return d
}

// errs lists the field errors as "field:reason".
func (d *driver) errs() []string {
	var out []string
	for _, e := range d.evs {
		if e.Type == EventError {
			out = append(out, e.Field+":"+string(e.Reason))
		}
	}
	return out
}

func (d *driver) last() Event { return d.evs[len(d.evs)-1] }

// buffers returns every byte of every Secret the machine owns, full capacity.
func buffers(m *Machine) [][]byte {
	var out [][]byte
	for i := range m.slots {
		for _, s := range []card.Secret{m.slots[i].value, m.slots[i].confirm} {
			if b := s.Bytes(); b != nil {
				out = append(out, b[:cap(b)])
			}
		}
	}
	return out
}

func allZero(bufs [][]byte) bool {
	for _, b := range bufs {
		for _, c := range b {
			if c != 0 {
				return false
			}
		}
	}
	return true
}
