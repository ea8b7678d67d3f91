package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// doc is a small document of two sections, as internal/app assembles one.
type doc struct {
	Server struct {
		Name    string        `yaml:"name"`
		Timeout time.Duration `yaml:"timeout"`
	} `yaml:"server"`
	Peers []struct {
		Addr string `yaml:"addr"`
	} `yaml:"peers"`
}

const docYAML = `server:
  name: a
  timeout: 5s
peers:
  - addr: one
  - addr: two
`

func TestDecodeRejectsUnknownKeysWithTheirLine(t *testing.T) {
	var d doc
	_, err := Decode("t.yaml", []byte(strings.Replace(docYAML, "  name: a\n", "  name: a\n  nmae: typo\n", 1)), &d)
	if err == nil || !strings.Contains(err.Error(), "t.yaml") || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "nmae") {
		t.Fatalf("unknown key: %v", err)
	}
	_, err = Decode("t.yaml", []byte(strings.Replace(docYAML, "5s", "soon", 1)), &d)
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "soon") {
		t.Fatalf("bad duration: %v", err)
	}
}

func TestDecodeFillsTheDocument(t *testing.T) {
	var d doc
	if _, err := Decode("t.yaml", []byte(docYAML), &d); err != nil {
		t.Fatal(err)
	}
	if d.Server.Name != "a" || d.Server.Timeout != 5*time.Second || len(d.Peers) != 2 || d.Peers[1].Addr != "two" {
		t.Fatalf("decoded %+v", d)
	}
	if _, err := Decode("empty", nil, &d); err != nil {
		t.Fatalf("an empty file is an empty document: %v", err)
	}
}

// TestLocateNamesTheLine: a *FieldError is reported as file:line: path: msg,
// at the key itself or, for a key not written, at the mapping that should
// hold it; any other error names the file.
func TestLocateNamesTheLine(t *testing.T) {
	var d doc
	src, err := Decode("t.yaml", []byte(docYAML), &d)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{Errorf("peers[1].addr", "bad %s", "address"), "t.yaml:6: peers[1].addr: bad address"},
		{Errorf("server.port", "required"), "t.yaml:2: server.port: required"},
		{Within("peers[0]", Errorf("addr", "no")), "t.yaml:5: peers[0].addr: no"},
		{Within("server", errors.New("broken")), "t.yaml:2: server: broken"},
		{errors.New("plain"), "t.yaml: plain"},
	} {
		if got := src.Locate(tt.err).Error(); got != tt.want {
			t.Errorf("Locate(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestAtKeepsTheCause(t *testing.T) {
	var d doc
	src, _ := Decode("t.yaml", []byte(docYAML), &d)
	err := src.At("server.timeout", os.ErrNotExist)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "t.yaml:3: server.timeout: ") {
		t.Fatalf("At: %v", err)
	}
	var none *Source
	if got := none.At("media.address", os.ErrNotExist).Error(); got != "media.address: "+os.ErrNotExist.Error() {
		t.Fatalf("At without a source: %q", got)
	}
}

func TestOneOfAndDefault(t *testing.T) {
	type mode string
	var m mode
	if err := OneOf("x.mode", &m, "on", "off"); err != nil || m != "on" {
		t.Fatalf("empty takes the first: %q %v", m, err)
	}
	m = "maybe"
	err := OneOf("x.mode", &m, "on", "off")
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "x.mode" || fe.Msg != `must be one of on, off, not "maybe"` {
		t.Fatalf("OneOf: %v", err)
	}
	d := 0 * time.Second
	Default(&d, time.Minute)
	n := 3
	Default(&n, 7)
	if d != time.Minute || n != 3 {
		t.Fatalf("Default: %v %d", d, n)
	}
}
