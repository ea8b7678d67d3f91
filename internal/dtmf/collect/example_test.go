package collect_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tonewall/tonewall/internal/dtmf/collect"
)

// The per-call capture code owns one Machine and feeds it from one goroutine:
// presses from every DTMF source, ticks at Deadline, and the vault's answer.
func Example() {
	m, err := collect.New(collect.Options{
		Fields: []collect.Field{{Kind: collect.KindPAN}, {Kind: collect.KindExpiry}, {Kind: collect.KindCVV}},
	})
	if err != nil {
		panic(err) // options come from validated config
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	show(m.Start(now))
	for i, k := range []byte("5555555555554444" + "0931" + "123") { // test card
		at := now.Add(time.Duration(i+1) * 300 * time.Millisecond)
		show(m.Press(collect.Press{Key: k, Source: collect.SourceRFC4733, At: at, Duration: 90 * time.Millisecond}))
		// the same press, seen again in the audio 25 ms later, is dropped
		show(m.Press(collect.Press{Key: k, Source: collect.SourceInBand, At: at.Add(25 * time.Millisecond)}))
	}
	if r, err := m.Result(); err == nil {
		_ = r // tokenize r.PAN, r.Expiry, r.CVV with the vault, then:
		show(m.Finish(nil))
	}
	m.Wipe()
	// Output:
	// prompt pan
	// field_complete pan mastercard 4444
	// prompt expiry
	// field_complete expiry
	// prompt cvv
	// field_complete cvv
	// state tokenizing
	// state tokenized mastercard 4444
}

// show prints the events a driver would forward, without digits and duplicates.
func show(evs []collect.Event) {
	for _, e := range evs {
		if e.Type == collect.EventDigit || e.Type == collect.EventDuplicate {
			continue
		}
		fmt.Println(strings.Join(slices.DeleteFunc([]string{string(e.Type), e.Field, string(e.State),
			string(e.Reason), string(e.Brand), e.Last4}, func(s string) bool { return s == "" }), " "))
	}
}
