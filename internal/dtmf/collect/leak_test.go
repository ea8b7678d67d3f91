package collect

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/sbctest"
)

// textVerbs print values as text; hexVerbs would turn any string into digits,
// so their output is only searched for the typed digits (and their hex).
var (
	textVerbs = []string{"%v", "%+v", "%#v", "%s", "%q"}
	hexVerbs  = []string{"%x", "%X", "%d"}
)

// outputs formats v every way the capture, api and log code could.
func outputs(t *testing.T, v any) (text, hexed string) {
	t.Helper()
	var out, hx bytes.Buffer
	for _, verb := range textVerbs {
		fmt.Fprintf(&out, verb+"\n", v)
	}
	for _, verb := range hexVerbs {
		fmt.Fprintf(&hx, verb+"\n", v)
	}
	out.WriteString(sbctest.Encoded(t, v))
	return out.String(), hx.String()
}

// scanner collects every output of a capture and checks it for typed digits.
type scanner struct {
	t      *testing.T
	typed  []string // every value keyed, valid or not
	last4s []string // the last four of valid PANs, which may be shown
	runs   int
}

var digitRun = regexp.MustCompile(`[0-9]{3,}`)

// findRun finds a run of 3+ digits, other than in the source name "rfc4733".
func findRun(s string) string {
	return digitRun.FindString(strings.ReplaceAll(s, SourceRFC4733.String(), ""))
}

func (s *scanner) check(what string, v any) {
	s.t.Helper()
	if leak := s.find(v); leak != "" {
		s.t.Fatalf("%s (%T) shows %s", what, v, leak)
	}
	s.runs++
}

// find returns what of the typed digits v shows, or "".
func (s *scanner) find(v any) string {
	text, hexed := outputs(s.t, v)
	for _, typed := range s.typed {
		for _, needle := range needles(typed) {
			if strings.Contains(text, needle) || strings.Contains(hexed, needle) ||
				strings.Contains(strings.ToLower(hexed), hex.EncodeToString([]byte(needle))) {
				return fmt.Sprintf("typed digits %q in:\n%s%s", needle, text, hexed)
			}
		}
	}
	for _, l4 := range s.last4s { // shown by design; nothing else may be
		text = strings.ReplaceAll(text, l4, "")
	}
	if run := findRun(text); run != "" {
		return fmt.Sprintf("a run of digits %q in:\n%s", run, text)
	}
	return ""
}

// needles: the whole value, and for a PAN every 6-digit window (any window of
// 6 is more than the last four).
func needles(v string) []string {
	if len(v) < 13 {
		return []string{v}
	}
	out := []string{v}
	for i := 0; i+6 <= len(v); i++ {
		out = append(out, v[i:i+6])
	}
	return out
}

// machineOutputs checks everything the machine shows at this moment.
func (s *scanner) machineOutputs(m *Machine) {
	s.t.Helper()
	s.check("machine", m)
	s.check("machine value", *m)
	s.check("status", m.Status())
	if err := m.Err(); err != nil {
		s.check("Err", err.Error())
	}
	if r, err := m.Result(); err == nil {
		s.check("result", r)
		s.check("result pan", r.PAN)
	}
}

func (s *scanner) events(evs []Event) {
	s.t.Helper()
	for _, e := range evs {
		s.check("event", e)
		if err := e.Err(); err != nil {
			s.check("event error", err.Error())
			s.check("event error value", err)
		}
	}
}

// TestNoDigitsInAnyOutput runs whole captures — valid, invalid, timeouts,
// mismatch, retry, each end — and scans every event, error, Status, Result
// and formatting of the machine and its input for the digits typed.
func TestNoDigitsInAnyOutput(t *testing.T) {
	all := []Field{{Kind: KindPAN}, {Kind: KindExpiry}, {Kind: KindCVV}, {Kind: KindPostalCode},
		{Kind: KindDigits, Name: "account", Min: 6, Max: 8}}
	tests := []struct {
		name   string
		opts   Options
		typed  []string
		last4s []string
		run    func(d *driver)
	}{
		{"valid", Options{Fields: all}, []string{amex15, "0931", "7342", "90817", "5638204"}, []string{"0005"},
			func(d *driver) {
				d.keys(amex15 + "0931" + "7342" + "90817" + "5638204#")
				d.run(func(m *Machine) []Event { return m.Finish(nil) })
				d.m.Wipe()
			}},
		{"confirm and mismatch", Options{Fields: all[:3], ConfirmPAN: true}, []string{visa16, disc16, mc16, "0829", "517"}, []string{"4444"},
			func(d *driver) {
				d.keys(visa16 + "#" + disc16 + "#" + mc16 + mc16 + "0829" + "517").run((*Machine).End)
			}},
		{"invalid every way", Options{Fields: all[:3]}, []string{badLuhn, unknownPAN, "0321", "1390", "5823", disc16},
			[]string{"1117"},
			func(d *driver) {
				d.keys(badLuhn + "#" + unknownPAN + "#").keys(disc16 + "#" + "0321" + "1390" + "5823")
			}},
		{"not accepted brand", Options{Fields: all[:3], Brands: []card.Brand{card.Visa}, MaxAttempts: 1}, []string{amex15}, nil,
			func(d *driver) { d.keys(amex15) }},
		{"timeouts", Options{Fields: all[:3], Timeout: time.Minute}, []string{"52049", "5555555555", mc16}, []string{"4444"},
			func(d *driver) { d.keys("52049.").keys("5555555555.").keys(mc16 + "08..") }},
		{"retry and cancel", Options{Fields: all}, []string{mc16, amex15, "0931", "862", "9381"}, []string{"4444", "0005"},
			func(d *driver) {
				d.keys(mc16 + "0931" + "862")
				d.run(func(m *Machine) []Event { evs, _ := m.Retry("pan", d.now); return evs })
				d.keys(amex15 + "9381")
				d.run((*Machine).Cancel)
			}},
		{"vault fails", Options{Fields: all[1:3]}, []string{"1130", "9362"}, nil,
			func(d *driver) {
				d.keys("1130" + "9362")
				d.run(func(m *Machine) []Event { return m.Finish(errors.New("vault: refused")) })
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scanner{t: t, typed: tt.typed, last4s: tt.last4s}
			m, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			d := &driver{t: t, m: m, now: t0, after: s.machineOutputs}
			d.add(m.Start(t0))
			tt.run(d)
			s.events(d.evs)
			for _, k := range []byte("0123456789") {
				s.check("press", Press{Key: k, Source: SourceINFO, At: t0, Duration: 250 * time.Millisecond})
			}
			if !d.m.State().Terminal() {
				d.m.Wipe()
			}
			if !allZero(buffers(d.m)) {
				t.Fatal("digits left after the end")
			}
			if s.runs < 20 {
				t.Fatalf("only %d outputs scanned", s.runs)
			}
		})
	}
}

// TestScannerFindsLeaks: the scan above would see digits if they were there.
func TestScannerFindsLeaks(t *testing.T) {
	s := &scanner{t: t, typed: []string{visa16, "0931"}, last4s: []string{"1111"}}
	leaky := []any{
		visa16,
		struct{ B []byte }{[]byte(visa16)},
		struct{ b [4]byte }{[4]byte{'0', '9', '3', '1'}},
		errors.New("bad expiry 0931"),
		map[string]string{"pan": "411111"},
		Event{Field: "x123"},
	}
	for _, v := range leaky {
		if s.find(v) == "" {
			t.Errorf("scan missed %T", v)
		}
	}
	if leak := s.find(Event{Type: EventComplete, Field: "pan", Count: 16, Last4: "1111"}); leak != "" {
		t.Errorf("last four flagged: %s", leak)
	}
}
