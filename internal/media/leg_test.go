package media

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tonewall/tonewall/internal/config"
)

// TestPolicyValidateFillsDefaults: an empty policy is plain RTP with SDES
// for when it is not, RFC 4733 digits, every suite and any codec.
func TestPolicyValidateFillsDefaults(t *testing.T) {
	var p LegPolicy
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := LegPolicy{SRTP: SRTPOff, KeyExchange: KeySDES, DTMF: DTMFRFC4733, Suites: allSuiteNames(), valid: true}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("defaults %+v, want %+v", p, want)
	}
}

// TestPolicyValidateNamesTheKey: each mistake is a *config.FieldError at
// the policy's own key, for the trunk to put under its path.
func TestPolicyValidateNamesTheKey(t *testing.T) {
	for _, tt := range []struct {
		p   LegPolicy
		key string
	}{
		{LegPolicy{SRTP: "maybe"}, "srtp"},
		{LegPolicy{KeyExchange: "zrtp"}, "key_exchange"},
		{LegPolicy{DTMF: "smoke"}, "dtmf"},
		{LegPolicy{Suites: []string{"AEAD_AES_128_GCM", "NULL"}}, "srtp_suites[1]"},
		{LegPolicy{DTMF: DTMFInband, Codecs: []string{"G722", "opus"}}, "codecs"},
	} {
		err := tt.p.Validate()
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Path != tt.key {
			t.Errorf("%+v: %v, want an error at %q", tt.p, err, tt.key)
		}
	}
}

// TestInbandPutsG711First: tones can only be read from G.711, so an
// in-band leg prefers it; other legs keep their order.
func TestInbandPutsG711First(t *testing.T) {
	for _, tt := range []struct {
		dtmf DTMFMethod
		in   []string
		want []string
	}{
		{DTMFInband, []string{"opus", "G722", "PCMA", "pcmu"}, []string{"PCMA", "pcmu", "opus", "G722"}},
		{DTMFRFC4733, []string{"opus", "PCMU"}, []string{"opus", "PCMU"}},
		{DTMFInband, nil, nil},
	} {
		in := append([]string(nil), tt.in...)
		p := LegPolicy{DTMF: tt.dtmf, Codecs: in}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Codecs, tt.want) || !reflect.DeepEqual(in, tt.in) {
			t.Errorf("%s %v: codecs %v (input now %v), want %v", tt.dtmf, tt.in, p.Codecs, in, tt.want)
		}
	}
}
