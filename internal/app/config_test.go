package app

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tonewall/tonewall/internal/api"
	"github.com/tonewall/tonewall/internal/vault"
)

func TestShippedConfigIsTheEmbeddedDefault(t *testing.T) {
	shipped, err := os.ReadFile("../../configs/tonewall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, Default) {
		t.Fatal("configs/tonewall.yaml and internal/app/default.yaml differ: copy one onto the other")
	}
	c, err := Parse("default", Default)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Trunks) != 3 || len(c.Routes) != 3 || c.SIP.TLS.MinVersion != "1.2" {
		t.Fatalf("unexpected default: %+v", c)
	}
	if d := c.Vault.Detokenize; d.Enabled() || d.Body != vault.DefaultDetokenizeBody || d.Timeout != vault.DefaultDetokenizeTimeout {
		t.Fatalf("the shipped vault.detokenize is not off with the documented defaults: %+v", d)
	}
}

// TestErrorsNameTheLine: every kind of mistake is reported with the line
// that holds it.
func TestErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		line    string // the text of the offending line in the edited file
		message string
	}{
		{"unknown key", func(s string) string {
			return strings.Replace(s, "  user_agent: tonewall", "  user_agent: tonewall\n  user_agnet: typo", 1)
		}, "  user_agnet: typo", "user_agnet"},
		{"bad CIDR", func(s string) string {
			return strings.Replace(s, "sources: [127.0.0.1/32]    # CIDRs", "sources: [127.0.0.1/99]    # CIDRs", 1)
		}, "127.0.0.1/99", "CIDR"},
		{"bad role", func(s string) string {
			return strings.Replace(s, "role: carrier              # carrier", "role: carier", 1)
		}, "role: carier", "carrier or contact_center"},
		{"bad duration", func(s string) string {
			return strings.Replace(s, "ring_timeout: 180s", "ring_timeout: forever", 1)
		}, "ring_timeout: forever", "forever"},
		{"route to unknown trunk", func(s string) string {
			return strings.Replace(s, "    to: contact_center\n", "    to: nowhere\n", 1)
		}, "to: nowhere", "nowhere"},
		{"bad srtp mode", func(s string) string {
			return strings.Replace(s, "srtp: off                  # off", "srtp: maybe", 1)
		}, "srtp: maybe", "maybe"},
		{"unknown listener", func(s string) string {
			return strings.Replace(s, "listener: carrier\n", "listener: nope\n", 1)
		}, "listener: nope", "nope"},
		{"unknown body placeholder", func(s string) string {
			return strings.Replace(s, `"reference":"{{reference}}"}'`, `"ref":"{{order}}"}'`, 1)
		}, `"ref":"{{order}}"}'`, `unknown placeholder "{{order}}"`},
		{"detokenize to plain http", func(s string) string {
			return strings.Replace(s, `forward_url: ""`, `forward_url: "http://pay.example/authorize"`, 1)
		}, "forward_url: \"http://pay.example", "loopback only"},
		{"api duration not a duration", func(s string) string {
			return strings.Replace(s, "read_header_timeout: 5s", "read_header_timeout: soon", 1)
		}, "read_header_timeout: soon", "soon"},
		{"api negative bound", func(s string) string {
			return strings.Replace(s, "max_connections: 256", "max_connections: -1", 1)
		}, "max_connections: -1", "must be positive"},
		{"api negative timeout", func(s string) string {
			return strings.Replace(s, "\n  idle_timeout: 60s", "\n  idle_timeout: -1s", 1) // api's, not sip.limits'

		}, "idle_timeout: -1s", "positive duration"},
		{"api per-key streams over the total", func(s string) string {
			return strings.Replace(s, "max_event_streams_per_key: 4", "max_event_streams_per_key: 65", 1)
		}, "max_event_streams_per_key: 65", "more than api.max_event_streams"},
		{"api header timeout over the read timeout", func(s string) string {
			return strings.Replace(s, "read_header_timeout: 5s", "read_header_timeout: 20s", 1)
		}, "read_header_timeout: 20s", "longer than api.read_timeout"},
		{"media port out of range", func(s string) string {
			return strings.Replace(s, "port_min: 20000", "port_min: 80", 1)
		}, "port_min: 80", "need 1024 <= min"},
		{"bad capture mask", func(s string) string {
			return strings.Replace(s, "mask: tone ", "mask: hum ", 1)
		}, "mask: hum", "hum"},
		{"unknown brand", func(s string) string {
			return strings.Replace(s, "brands: []", "brands: [visa, acme]", 1)
		}, "brands: [visa, acme]", `unknown brand "acme"`},
		{"audit log to stdout", func(s string) string {
			return strings.Replace(s, "file: ./data/audit.log ", "file: \"-\" ", 1)
		}, `file: "-"`, "must be a file path"},
		{"unknown detokenize key", func(s string) string {
			return strings.Replace(s, "    content_type: application/json\n", "    content_type: application/json\n    forward_to: x\n", 1)
		}, "forward_to: x", "forward_to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.edit(string(Default))
			if src == string(Default) {
				t.Fatal("the edit changed nothing: fix the test")
			}
			_, err := Parse("t.yaml", []byte(src))
			if err == nil {
				t.Fatal("no error")
			}
			want := lineNumber(t, src, tt.line)
			if !strings.Contains(err.Error(), "line "+want) && !strings.Contains(err.Error(), "t.yaml:"+want+":") {
				t.Fatalf("error %q does not name line %s", err, want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("error %q does not mention %q", err, tt.message)
			}
		})
	}
}

func lineNumber(t *testing.T, src, text string) string {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, text) {
			return itoa(i + 1)
		}
	}
	t.Fatalf("%q not in the edited file", text)
	return ""
}

func itoa(i int) string {
	return fmtInt(i)
}

func fmtInt(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return fmtInt(i/10) + string(rune('0'+i%10))
}

func TestEmptyFileNeedsListeners(t *testing.T) {
	if _, err := Parse("empty", nil); err == nil || !strings.Contains(err.Error(), "listener") {
		t.Fatalf("empty config: %v", err)
	}
}

func TestPassListRefusesCoreHeaders(t *testing.T) {
	src := strings.Replace(string(Default), "    - User-to-User\n", "    - User-to-User\n    - Via\n", 1)
	if _, err := Parse("t", []byte(src)); err == nil || !strings.Contains(err.Error(), "Via") {
		t.Fatalf("Via on the pass list: %v", err)
	}
}

func TestInbandTrunkNeedsG711(t *testing.T) {
	src := strings.Replace(string(Default), "    dtmf: rfc4733              # rfc4733 | inband | info\n    codecs: [PCMU, PCMA]", "    dtmf: inband\n    codecs: [G722, opus]", 1)
	if src == string(Default) {
		t.Fatal("edit changed nothing")
	}
	if _, err := Parse("t", []byte(src)); err == nil || !strings.Contains(err.Error(), "inband needs PCMU or PCMA") {
		t.Fatalf("inband trunk without G.711: %v", err)
	}
}

// TestAPIBoundsDefaults: the shipped file shows every api bound at its
// default, and a config that names none gets the same values.
func TestAPIBoundsDefaults(t *testing.T) {
	shipped, err := Parse("default", Default)
	if err != nil {
		t.Fatal(err)
	}
	var none api.Config
	none.SetDefaults()
	none.Address, none.Keys = shipped.API.Address, shipped.API.Keys
	if !reflect.DeepEqual(shipped.API, none) {
		t.Fatalf("shipped api section %+v is not the defaults %+v", shipped.API, none)
	}
	if none.MaxConnections == 0 || none.ReadHeaderTimeout == 0 || none.WriteTimeout == 0 || none.MaxEventStreamsPerKey == 0 {
		t.Fatalf("a bound has no default: %+v", none)
	}
}

// TestAtNamesTheLine: an error found after Parse about one key carries the
// file and line of that key, and still matches its cause.
func TestAtNamesTheLine(t *testing.T) {
	c, err := Parse("t.yaml", Default)
	if err != nil {
		t.Fatal(err)
	}
	want := 1 + strings.Count(string(Default[:bytes.Index(Default, []byte("cert_file:"))]), "\n")
	cause := os.ErrNotExist
	err = c.At("sip.tls.cert_file", cause)
	if got := err.Error(); !strings.HasPrefix(got, fmt.Sprintf("t.yaml:%d: sip.tls.cert_file: ", want)) {
		t.Fatalf("At: %q, want line %d", got, want)
	}
	if !errors.Is(err, cause) {
		t.Fatal("At hides its cause from errors.Is")
	}
	if got := (&Config{}).At("media.address", cause).Error(); got != "media.address: "+cause.Error() {
		t.Fatalf("At on a Config not parsed from a file: %q", got)
	}
}
