package collect

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

const fuzzKeys = "0123456789*#ABCD"

// fuzzOptions picks a capture from one byte.
func fuzzOptions(b byte) Options {
	sets := [][]Field{
		fields(KindPAN, KindExpiry, KindCVV),
		fields(KindPAN, KindCVV),
		{{Kind: KindDigits, Name: "acct", Min: 2, Max: 5}, {Kind: KindPostalCode}, {Kind: KindCVV}},
		{{Kind: KindExpiry}, {Kind: KindPAN}, {Kind: KindDigits, Name: "pin", Min: 4, Max: 4}, {Kind: KindCVV}},
	}
	o := Options{Fields: sets[int(b)%len(sets)], ConfirmPAN: b&4 != 0, MaxAttempts: int(b>>3)%3 + 1}
	if b&0x40 != 0 {
		o.Brands = []card.Brand{card.Visa, card.Mastercard}
	}
	if b&0x80 != 0 {
		o.Timeout = 90 * time.Second
	}
	return o
}

// fuzzStep applies one two-byte operation and returns its events.
func fuzzStep(m *Machine, now *time.Time, op, arg byte) []Event {
	switch {
	case op%8 == 5:
		*now = now.Add(time.Duration(arg) * 100 * time.Millisecond)
		return m.Tick(*now)
	case op%8 == 6:
		evs, _ := m.Retry(m.slots[int(arg)%len(m.slots)].Name, *now)
		return evs
	case op%8 == 7 && arg < 40:
		return fuzzEnd(m, arg%5)
	}
	*now = now.Add(time.Duration(arg%64) * 5 * time.Millisecond)
	at := *now
	if op&0x80 != 0 {
		at = at.Add(-time.Duration(op&0x70) * time.Millisecond) // a source reporting late
	}
	return m.Press(Press{Key: fuzzKeys[arg%16], Source: Source(op>>3) % 4, At: at, Duration: time.Duration(arg%5) * 30 * time.Millisecond})
}

func fuzzEnd(m *Machine, which byte) []Event {
	switch which {
	case 0:
		return m.Cancel()
	case 1:
		return m.End()
	case 2:
		return m.Finish(nil)
	case 3:
		return m.Finish(errors.New("vault"))
	}
	m.Wipe()
	return nil
}

// seedOps turns keys into press operations from one source, ~250 ms apart.
func seedOps(keys string) []byte {
	var out []byte
	for i := range len(keys) {
		k := byte(0)
		for j := range len(fuzzKeys) {
			if fuzzKeys[j] == keys[i] {
				k = byte(j)
			}
		}
		out = append(out, 0, 48+k) // key k, (48+k)*5 ms after the last
	}
	return out
}

func FuzzMachine(f *testing.F) {
	f.Add(byte(0), seedOps(visa16+"#"+expiryOK+"123"))
	f.Add(byte(4), seedOps(mc16+mc16+expiryOK+"123"))
	f.Add(byte(0x41), seedOps(amex15+disc16+"#1234"))
	f.Add(byte(2), append(seedOps("12345#*9"), 5, 200, 6, 0, 7, 1))
	f.Add(byte(3), seedOps("1230"+"4111111111111111#"+"1234"+"123"))
	f.Fuzz(func(t *testing.T, ob byte, ops []byte) {
		m, err := New(fuzzOptions(ob))
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		checkEvents(t, m, m.Start(now))
		for i := 0; i+1 < len(ops); i += 2 {
			checkEvents(t, m, fuzzStep(m, &now, ops[i], ops[i+1]))
			checkMachine(t, m, now)
		}
		m.Wipe()
		checkMachine(t, m, now)
	})
}

func checkEvents(t *testing.T, m *Machine, evs []Event) {
	t.Helper()
	for _, e := range evs {
		if e.Last4 != "" && (len(e.Last4) != 4 || !(e.Type == EventComplete || e.State == StateTokenized)) {
			t.Fatalf("last four where it does not belong: %s", e.Type)
		}
		if e.Count < 0 || e.Count > panMax || e.AttemptsLeft < 0 || e.AttemptsLeft > m.opts.MaxAttempts {
			t.Fatalf("count or attempts out of range: %+v", e)
		}
		e.Last4 = ""
		noDigits(t, "event", e)
	}
}

func checkMachine(t *testing.T, m *Machine, now time.Time) {
	t.Helper()
	st := m.Status()
	_, hasDeadline := m.Deadline()
	if hasDeadline != (st.State == StateCollecting) {
		t.Fatalf("deadline %v in state %s", hasDeadline, st.State)
	}
	if st.State.Terminal() && !allZero(buffers(m)) {
		t.Fatalf("digits left in state %s", st.State)
	}
	if st.State == StateCollecting {
		if st.Digits > m.maxLen(&m.slots[m.cur]) || st.AttemptsLeft < 1 || st.AttemptsLeft > m.opts.MaxAttempts {
			t.Fatalf("status out of range: %+v", st)
		}
	}
	if st.State == StateTokenizing {
		checkResult(t, m, now)
	}
	st.Last4 = ""
	noDigits(t, "status", st)
	noDigits(t, "machine", fmt.Sprintf("%+v %#v", m, *m))
}

// maxLen is the most digits the current entry may hold.
func (m *Machine) maxLen(s *slot) int {
	switch s.Kind {
	case KindPAN:
		return panMax
	case KindExpiry:
		return expiryLen
	case KindCVV:
		return 4
	}
	return s.Max
}

// checkResult: what reaches tokenizing is valid, field by field.
func checkResult(t *testing.T, m *Machine, now time.Time) {
	t.Helper()
	r, err := m.Result()
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.slots {
		s := &m.slots[i]
		if !s.done {
			t.Fatalf("tokenizing with %s not done", s.Name)
		}
		switch s.Kind {
		case KindPAN:
			if r.PAN.Validate() != nil || r.PAN.Len() < panMin || r.Brand != r.PAN.Brand() {
				t.Fatal("invalid PAN reached tokenizing")
			}
		case KindExpiry:
			if r.Expiry.Validate(now) != nil && r.Expiry.Validate(t0) != nil {
				t.Fatal("invalid expiry reached tokenizing")
			}
		case KindCVV:
			if r.Brand != card.Unknown && r.CVV.Validate(r.Brand) != nil {
				t.Fatal("cvv of the wrong length reached tokenizing")
			}
		default:
			if n := s.value.Len(); n < s.Min || n > s.Max {
				t.Fatalf("%s of %d digits reached tokenizing", s.Name, n)
			}
		}
	}
}

func noDigits(t *testing.T, what string, v any) {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(j), fmt.Sprintf("%+v", v)} {
		if run := findRun(s); run != "" {
			t.Fatalf("%s shows digits %q: %s", what, run, s)
		}
	}
}

// TestFuzzSeedsReachTokenizing keeps the seeds honest: the first ones are
// whole valid captures, so the fuzzer starts from the deep end.
func TestFuzzSeedsReachTokenizing(t *testing.T) {
	for _, tt := range []struct {
		ob  byte
		ops []byte
	}{{0, seedOps(visa16 + "#" + expiryOK + "123")}, {4, seedOps(mc16 + mc16 + expiryOK + "123")}} {
		m, _ := New(fuzzOptions(tt.ob))
		now := t0
		m.Start(now)
		for i := 0; i+1 < len(tt.ops); i += 2 {
			fuzzStep(m, &now, tt.ops[i], tt.ops[i+1])
		}
		if m.State() != StateTokenizing {
			t.Fatalf("seed ends %s", m.State())
		}
	}
}
