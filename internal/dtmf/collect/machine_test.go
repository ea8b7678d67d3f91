package collect

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

func TestCapture(t *testing.T) {
	card3 := fields(KindPAN, KindExpiry, KindCVV)
	tests := []struct {
		name       string
		opts       Options
		keys       string
		wantState  State
		wantReason Reason
		wantErrs   []string
	}{
		{"visa with #", Options{Fields: card3}, visa16 + "#" + expiryOK + "123", StateTokenizing, "", nil},
		{"mastercard completes at 16", Options{Fields: card3}, mc16 + expiryOK + "123", StateTokenizing, "", nil},
		{"amex completes at 15, cvv 4", Options{Fields: card3}, amex15 + expiryOK + "1234", StateTokenizing, "", nil},
		{"visa 19 completes by itself", Options{Fields: card3}, visa19 + expiryOK + "123", StateTokenizing, "", nil},
		{"visa 13 with #", Options{Fields: card3}, visa13 + "#" + expiryOK + "123", StateTokenizing, "", nil},
		{"# after an auto-complete is ignored", Options{Fields: card3}, mc16 + "#" + expiryOK + "#123", StateTokenizing, "", nil},
		{"A-D ignored", Options{Fields: card3}, "A" + mc16[:4] + "BCD" + mc16[4:] + expiryOK + "123", StateTokenizing, "", nil},
		{"* clears and starts over", Options{Fields: card3}, "4111*" + mc16 + "09*" + expiryOK + "12*123", StateTokenizing, "", nil},
		{"bad luhn then good", Options{Fields: card3}, badLuhn + "#" + visa16 + "#" + expiryOK + "123", StateTokenizing, "",
			[]string{"pan:invalid_card_number"}},
		{"too short", Options{Fields: card3, MaxAttempts: 1}, "411111111111#", StateFailed, InvalidCardNumber,
			[]string{"pan:invalid_card_number"}},
		{"unknown brand is a card type", Options{Fields: card3, MaxAttempts: 1}, unknownPAN + "#", StateFailed, InvalidCardType,
			[]string{"pan:invalid_card_type"}},
		{"brand not accepted", Options{Fields: card3, Brands: []card.Brand{card.Visa}, MaxAttempts: 2}, amex15 + mc16,
			StateFailed, InvalidCardType, []string{"pan:invalid_card_type", "pan:invalid_card_type"}},
		{"expired", Options{Fields: card3}, visa16 + "#" + "1025" + expiryOK + "123", StateTokenizing, "",
			[]string{"expiry:invalid_expiry"}},
		{"month 13", Options{Fields: card3}, visa16 + "#" + "1330" + expiryOK + "123", StateTokenizing, "",
			[]string{"expiry:invalid_expiry"}},
		{"expiry too short", Options{Fields: card3}, visa16 + "#" + "093#" + expiryOK + "123", StateTokenizing, "",
			[]string{"expiry:invalid_expiry"}},
		{"this month is not past", Options{Fields: card3}, visa16 + "#" + "1126" + "123", StateTokenizing, "", nil},
		{"amex cvv of 3", Options{Fields: card3}, amex15 + expiryOK + "123#1234", StateTokenizing, "",
			[]string{"cvv:invalid_security_code"}},
		{"cvv attempts exhausted", Options{Fields: card3}, mc16 + expiryOK + "1#2#3#", StateFailed, InvalidSecurityCode,
			[]string{"cvv:invalid_security_code", "cvv:invalid_security_code", "cvv:invalid_security_code"}},
		{"cvv without pan takes 3 or 4", Options{Fields: fields(KindCVV, KindExpiry)}, "123#" + expiryOK, StateTokenizing, "", nil},
		{"postal default 5", Options{Fields: fields(KindPostalCode)}, "1234#12345", StateTokenizing, "",
			[]string{"postal_code:invalid_digits"}},
		{"digits min/max", Options{Fields: []Field{{Kind: KindDigits, Name: "acct", Min: 3, Max: 6}}}, "12#123#", StateTokenizing, "",
			[]string{"acct:invalid_digits"}},
		{"digits completes at max", Options{Fields: []Field{{Kind: KindDigits, Name: "acct", Min: 3, Max: 6}, {Kind: KindPostalCode}}},
			"123456" + "54321", StateTokenizing, "", nil},
		{"confirm equal", Options{Fields: card3, ConfirmPAN: true}, visa16 + "#" + visa16 + expiryOK + "123", StateTokenizing, "", nil},
		{"confirm mismatch then equal", Options{Fields: card3, ConfirmPAN: true},
			visa16 + "#" + disc16 + mc16 + mc16 + expiryOK + "123", StateTokenizing, "", []string{"pan:mismatch"}},
		{"confirm shorter", Options{Fields: card3, ConfirmPAN: true, MaxAttempts: 1}, visa16 + "#" + visa13 + "#",
			StateFailed, Mismatch, []string{"pan:mismatch"}},
		{"first-digit timeout then entry", Options{Fields: card3}, "." + mc16 + expiryOK + "123", StateTokenizing, "",
			[]string{"pan:timeout"}},
		{"inter-digit timeout wipes and re-prompts", Options{Fields: card3}, "4111." + mc16 + expiryOK + "123", StateTokenizing, "",
			[]string{"pan:timeout"}},
		{"timeouts exhaust attempts", Options{Fields: card3}, mc16 + "...", StateFailed, Timeout,
			[]string{"expiry:timeout", "expiry:timeout", "expiry:timeout"}},
		{"overall timeout", Options{Fields: card3, Timeout: 20 * time.Second}, mc16 + "..", StateTimedOut, "", []string{"expiry:timeout"}},
		{"keys after the end are ignored", Options{Fields: fields(KindCVV), MaxAttempts: 1}, "1#123", StateFailed, InvalidSecurityCode,
			[]string{"cvv:invalid_security_code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver(t, tt.opts).keys(tt.keys)
			st := d.m.Status()
			if st.State != tt.wantState || st.Reason != tt.wantReason {
				t.Fatalf("state %s/%s, want %s/%s; events %+v", st.State, st.Reason, tt.wantState, tt.wantReason, d.evs)
			}
			if got := d.errs(); !slices.Equal(got, tt.wantErrs) {
				t.Errorf("errors %v, want %v", got, tt.wantErrs)
			}
			if tt.wantState.Terminal() && !allZero(buffers(d.m)) {
				t.Error("digits left after the end")
			}
		})
	}
}

// TestAutoComplete pins where the PAN completes without '#'.
func TestAutoComplete(t *testing.T) {
	tests := []struct {
		name string
		pan  string
		at   int // digits at which the field completed; 0: not complete
	}{
		{"amex 15", amex15, 15},
		{"mastercard 16", mc16, 16},
		{"visa 16 waits for #", visa16, 0},
		{"visa 19", visa19, 19},
		{"discover 16 waits (16-19)", disc16, 0},
		{"unknown brand at 19", "9999999999999999999", 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver(t, Options{Fields: fields(KindPAN, KindExpiry)}).keys(tt.pan)
			got := 0
			for _, e := range d.evs {
				if e.Field == "pan" && (e.Type == EventComplete || e.Type == EventError) {
					got = e.Count
				}
			}
			if got != tt.at {
				t.Errorf("completed at %d digits, want %d", got, tt.at)
			}
		})
	}
}

func TestResult(t *testing.T) {
	o := Options{Fields: []Field{{Kind: KindPAN}, {Kind: KindExpiry}, {Kind: KindCVV}, {Kind: KindPostalCode},
		{Kind: KindDigits, Name: "acct", Min: 2, Max: 4}}}
	d := newDriver(t, o).keys(amex15 + expiryOK + "4321" + "90210" + "77#")
	r, err := d.m.Result()
	if err != nil {
		t.Fatal(err)
	}
	got := []string{string(r.PAN.Bytes()), string(r.Expiry.Bytes()), string(r.CVV.Bytes()),
		string(r.Fields["postal_code"].Bytes()), string(r.Fields["acct"].Bytes()), string(r.Brand)}
	want := []string{amex15, expiryOK, "4321", "90210", "77", "amex"}
	if !slices.Equal(got, want) {
		t.Fatalf("result %v, want %v", got, want) // test digits only, never real ones
	}
	pan := r.PAN.Bytes()
	evs := d.m.Finish(nil)
	if len(evs) != 1 || evs[0].State != StateTokenized || evs[0].Last4 != "0005" || evs[0].Brand != card.Amex {
		t.Fatalf("finish events %+v", evs)
	}
	if !allZero([][]byte{pan[:cap(pan)]}) || !allZero(buffers(d.m)) {
		t.Fatal("Finish left digits")
	}
	if st := d.m.Status(); st.Last4 != "0005" || st.Brand != card.Amex {
		t.Fatalf("status after tokenized %+v", st)
	}
	d.m.Wipe()
	if st := d.m.Status(); st.Last4 != "" || st.State != StateTokenized {
		t.Fatalf("status after Wipe %+v", st)
	}
	if _, err := d.m.Result(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Result after end: %v", err)
	}
}

func TestFinishError(t *testing.T) {
	d := newDriver(t, Options{Fields: fields(KindCVV)}).keys("1234")
	d.run(func(m *Machine) []Event { return m.Finish(errors.New("vault down")) })
	var fe *FieldError
	if err := d.m.Err(); !errors.As(err, &fe) || !errors.Is(err, VaultFailed) {
		t.Fatalf("Err %v", err)
	}
	if d.m.Finish(nil) != nil || d.m.State() != StateFailed {
		t.Fatal("Finish after the end changed something")
	}
}

func TestEnds(t *testing.T) {
	tests := []struct {
		name  string
		do    func(m *Machine) []Event
		state State
		err   error
	}{
		{"cancel", (*Machine).Cancel, StateCancelled, ErrCancelled},
		{"call ended", (*Machine).End, StateCallEnded, ErrCallEnded},
		{"wipe", func(m *Machine) []Event { m.Wipe(); return nil }, StateCancelled, ErrCancelled},
	}
	for _, tt := range tests {
		for _, at := range []string{"collecting", "confirming", "tokenizing"} {
			t.Run(tt.name+"/"+at, func(t *testing.T) {
				d := newDriver(t, Options{Fields: fields(KindPAN, KindExpiry), ConfirmPAN: true})
				switch at {
				case "collecting":
					d.keys(visa16 + "#" + visa16 + "09")
				case "confirming":
					d.keys(visa16 + "#" + "4111")
				case "tokenizing":
					d.keys(visa16 + "#" + visa16 + expiryOK)
				}
				bufs := buffers(d.m)
				if allZero(bufs) {
					t.Fatal("test setup: nothing collected")
				}
				d.run(tt.do)
				if d.m.State() != tt.state || !errors.Is(d.m.Err(), tt.err) {
					t.Fatalf("state %s err %v", d.m.State(), d.m.Err())
				}
				if !allZero(bufs) {
					t.Fatal("digits left after the end")
				}
				if d.m.Cancel() != nil || d.m.End() != nil || d.m.Press(Press{Key: '1', At: d.now.Add(time.Hour)}) != nil {
					t.Fatal("input after the end did something")
				}
				if _, ok := d.m.Deadline(); ok {
					t.Fatal("deadline after the end")
				}
			})
		}
	}
}

func TestRetry(t *testing.T) {
	o := Options{Fields: fields(KindPAN, KindExpiry, KindCVV)}
	t.Run("pan from cvv also redoes cvv", func(t *testing.T) {
		d := newDriver(t, o).keys(visa16 + "#" + expiryOK + "12")
		evs, err := d.m.Retry("pan", d.now)
		if err != nil || len(evs) != 1 || evs[0].Type != EventPrompt || evs[0].Field != "pan" {
			t.Fatalf("Retry: %v %+v", err, evs)
		}
		d.keys(amex15 + "1234")
		r, err := d.m.Result()
		if err != nil || string(r.PAN.Bytes()) != amex15 || string(r.Expiry.Bytes()) != expiryOK || string(r.CVV.Bytes()) != "1234" {
			t.Fatalf("after retry: %v %s", err, d.m.Status().State)
		}
	})
	t.Run("expiry, then on to cvv", func(t *testing.T) {
		d := newDriver(t, o).keys(visa16 + "#" + expiryOK + "1")
		if _, err := d.m.Retry("expiry", d.now); err != nil {
			t.Fatal(err)
		}
		st := d.m.Status()
		if st.Field != "expiry" || st.Digits != 0 || !st.Fields[0].Complete || st.Fields[1].Complete {
			t.Fatalf("status %+v", st)
		}
		d.keys("1231" + "321")
		r, _ := d.m.Result()
		if string(r.Expiry.Bytes()) != "1231" || string(r.CVV.Bytes()) != "321" {
			t.Fatal("wrong result after retry")
		}
	})
	t.Run("fresh attempts", func(t *testing.T) {
		d := newDriver(t, Options{Fields: fields(KindCVV), MaxAttempts: 2}).keys("1#")
		if _, err := d.m.Retry("cvv", d.now); err != nil {
			t.Fatal(err)
		}
		if st := d.m.Status(); st.AttemptsLeft != 2 {
			t.Fatalf("attempts left %d", st.AttemptsLeft)
		}
	})
	t.Run("during the PAN confirmation, back to expiry", func(t *testing.T) {
		d := newDriver(t, Options{Fields: fields(KindPAN, KindExpiry, KindCVV), ConfirmPAN: true})
		d.keys(visa16 + "#" + visa16 + expiryOK + "1")
		if _, err := d.m.Retry("pan", d.now); err != nil {
			t.Fatal(err)
		}
		d.keys(mc16 + "5555")
		if _, err := d.m.Retry("expiry", d.now); err != nil {
			t.Fatal(err)
		}
		if st := d.m.Status(); st.Field != "expiry" || st.Brand != "" || st.Fields[0].Complete || !allZero(buffers(d.m)) {
			t.Fatalf("status %+v", st)
		}
		d.keys("1231" + amex15 + amex15 + "4321")
		r, err := d.m.Result()
		if err != nil || string(r.PAN.Bytes()) != amex15 || string(r.Expiry.Bytes()) != "1231" || string(r.CVV.Bytes()) != "4321" {
			t.Fatalf("after retries: %v %v", err, d.errs())
		}
	})
	errs := []struct {
		name  string
		field string
		keys  string
		want  error
	}{
		{"unknown field", "zip", "", ErrUnknownField},
		{"not reached", "cvv", "", ErrFieldNotReached},
		{"not collecting", "pan", mc16 + expiryOK + "123", ErrNotCollecting},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver(t, o).keys(tt.keys)
			if _, err := d.m.Retry(tt.field, d.now); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDeadlines(t *testing.T) {
	o := Options{Fields: fields(KindCVV), FirstDigitTimeout: 10 * time.Second, InterDigitTimeout: 3 * time.Second, Timeout: time.Minute}
	m, _ := New(o)
	if _, ok := m.Deadline(); ok {
		t.Fatal("deadline before Start")
	}
	m.Start(t0)
	steps := []struct {
		name string
		do   func() []Event
		want time.Time
	}{
		{"first digit", func() []Event { return nil }, t0.Add(10 * time.Second)},
		{"not yet", func() []Event { return m.Tick(t0.Add(9 * time.Second)) }, t0.Add(10 * time.Second)},
		{"inter digit", func() []Event { return m.Press(Press{Key: '1', At: t0.Add(9 * time.Second)}) }, t0.Add(12 * time.Second)},
		{"* restarts first digit", func() []Event { return m.Press(Press{Key: '*', At: t0.Add(11 * time.Second)}) }, t0.Add(21 * time.Second)},
		{"timeout re-prompts from now", func() []Event { return m.Tick(t0.Add(22 * time.Second)) }, t0.Add(32 * time.Second)},
		{"overall comes first", func() []Event { return m.Tick(t0.Add(55 * time.Second)) }, t0.Add(time.Minute)},
	}
	for _, s := range steps {
		s.do()
		if got, ok := m.Deadline(); !ok || !got.Equal(s.want) {
			t.Fatalf("%s: deadline %v, want %v", s.name, got.Sub(t0), s.want.Sub(t0))
		}
	}
	m.Tick(t0.Add(time.Minute))
	if m.State() != StateTimedOut {
		t.Fatalf("state %s", m.State())
	}
}

func TestLateDigitIsTimeoutThenDigit(t *testing.T) {
	m, _ := New(Options{Fields: fields(KindCVV), InterDigitTimeout: time.Second})
	m.Start(t0)
	m.Press(Press{Key: '1', At: t0.Add(time.Second)})
	evs := m.Press(Press{Key: '2', At: t0.Add(3 * time.Second)})
	types := []EventType{}
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []EventType{EventError, EventPrompt, EventDigit}) || evs[2].Count != 1 {
		t.Fatalf("events %+v", evs)
	}
}

func TestStatus(t *testing.T) {
	d := newDriver(t, Options{Fields: fields(KindPAN, KindExpiry, KindCVV), ConfirmPAN: true, MaxAttempts: 3})
	d.keys(badLuhn + "#" + mc16 + "555")
	st := d.m.Status()
	want := Status{State: StateCollecting, Field: "pan", Confirming: true, Digits: 3, AttemptsLeft: 2,
		Fields: []FieldStatus{{"pan", KindPAN, false, 2}, {"expiry", KindExpiry, false, 3}, {"cvv", KindCVV, false, 3}}}
	if !equalStatus(st, want) {
		t.Fatalf("status\n%+v\nwant\n%+v", st, want)
	}
	d.keys(mc16[3:] + "1")
	st = d.m.Status()
	want = Status{State: StateCollecting, Field: "expiry", Digits: 1, AttemptsLeft: 3, Brand: card.Mastercard, Last4: "4444",
		Fields: []FieldStatus{{"pan", KindPAN, true, 2}, {"expiry", KindExpiry, false, 3}, {"cvv", KindCVV, false, 3}}}
	if !equalStatus(st, want) {
		t.Fatalf("status\n%+v\nwant\n%+v", st, want)
	}
}

func equalStatus(a, b Status) bool { return reflect.DeepEqual(a, b) }

// TestAbort: a check outside the machine ends it failed with its own
// reason, wipes the digits, names no field, and does nothing once ended.
func TestAbort(t *testing.T) {
	d := newDriver(t, Options{Fields: fields(KindPAN, KindExpiry)})
	d.keys(visa16 + "#" + "09")
	bufs := buffers(d.m)
	if allZero(bufs) {
		t.Fatal("test setup: nothing collected")
	}
	evs := d.m.Abort("mask_leak")
	if len(evs) != 1 || evs[0].State != StateFailed || evs[0].Reason != "mask_leak" || evs[0].Field != "" {
		t.Fatalf("abort events %+v", evs)
	}
	if st := d.m.Status(); st.State != StateFailed || st.Reason != "mask_leak" || !allZero(bufs) {
		t.Fatalf("after abort: %+v, digits wiped %v", st, allZero(bufs))
	}
	if d.m.Abort("other") != nil || d.m.Status().Reason != "mask_leak" {
		t.Fatal("abort after the end changed something")
	}
}
