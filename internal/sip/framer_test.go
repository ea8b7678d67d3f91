package sip

import (
	"strings"
	"testing"
)

const (
	optionsMsg = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n"
	infoMsg    = "INFO sip:a@b SIP/2.0\r\nCall-ID: c1\r\nContent-Length: 10\r\n\r\nSignal=5\r\n"
)

// feedAll feeds chunks in turn and reports whether any of them started a
// message, and whether the framer is between messages at the end.
func feedAll(chunks ...string) (started, between bool) {
	var f framer
	for _, c := range chunks {
		started = f.feed([]byte(c)) || started
	}
	return started, f.between()
}

func TestFramerBoundaries(t *testing.T) {
	long := "Subject: " + strings.Repeat("x", 100) + "\r\n"
	tests := []struct {
		name        string
		chunks      []string
		started     bool
		wantBetween bool
	}{
		{"nothing", nil, false, true},
		{"CRLF keep-alives", []string{"\r\n\r\n", "\r\n"}, false, true},
		{"bare LF keep-alive", []string{"\n"}, false, true},
		{"start line only", []string{"OPTIONS sip:a@b SIP/2.0\r\n"}, true, false},
		{"headers without their empty line", []string{"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n"}, true, false},
		{"whole message without body", []string{optionsMsg}, true, true},
		{"no Content-Length: ends at the empty line", []string{"BYE sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n"}, true, true},
		{"LF-only line ends", []string{"BYE sip:a SIP/2.0\nContent-Length: 2\n\nab"}, true, true},
		{"body not yet whole", []string{infoMsg[:len(infoMsg)-1]}, true, false},
		{"whole message with body", []string{infoMsg}, true, true},
		{"body split across reads", []string{infoMsg[:len(infoMsg)-6], infoMsg[len(infoMsg)-6:]}, true, true},
		{"body of CRLFs is body, not keep-alive", []string{"INFO sip:a SIP/2.0\r\nContent-Length: 4\r\n\r\n\r\n", "\r\n"}, true, true},
		{"body of CRLFs not whole", []string{"INFO sip:a SIP/2.0\r\nContent-Length: 4\r\n\r\n\r\n"}, true, false},
		{"compact l", []string{"INFO sip:a SIP/2.0\r\nl: 3\r\n\r\nab"}, true, false},
		{"compact L, whole", []string{"INFO sip:a SIP/2.0\r\nL: 3\r\n\r\nabc"}, true, true},
		{"name in upper case", []string{"INFO sip:a SIP/2.0\r\nCONTENT-LENGTH: 3\r\n\r\nab"}, true, false},
		{"spaces and tabs around name and value", []string{"INFO sip:a SIP/2.0\r\n Content-Length\t :  3 \t\r\n\r\nab"}, true, false},
		{"last Content-Length counts", []string{"INFO sip:a SIP/2.0\r\nContent-Length: 9\r\nContent-Length: 2\r\n\r\nab"}, true, true},
		{"two messages in one read", []string{infoMsg + "\r\n" + optionsMsg}, true, true},
		{"second message partly in the read", []string{optionsMsg + infoMsg[:30]}, true, false},
		{"Content-Length does not carry into the next message", []string{infoMsg + "BYE sip:a SIP/2.0\r\n\r\n"}, true, true},
		{"long header line before Content-Length", []string{"INFO sip:a SIP/2.0\r\n" + long + "Content-Length: 3\r\n\r\nab"}, true, false},
		{"long header line, whole", []string{"INFO sip:a SIP/2.0\r\n" + long + "Content-Length: 3\r\n\r\nabc"}, true, true},
		{"long line whose tail looks like Content-Length", []string{"INFO sip:a SIP/2.0\r\nX: " + strings.Repeat("y", 40) + "Content-Length: 5\r\n\r\n"}, true, true},
		{"bad Content-Length value is ignored", []string{"INFO sip:a SIP/2.0\r\nContent-Length: abc\r\n\r\n"}, true, true},
		{"negative Content-Length is ignored", []string{"INFO sip:a SIP/2.0\r\nContent-Length: -5\r\n\r\n"}, true, true},
		{"Content-Length with inner space is ignored", []string{"INFO sip:a SIP/2.0\r\nContent-Length: 1 2\r\n\r\n"}, true, true},
		{"empty Content-Length is ignored", []string{"INFO sip:a SIP/2.0\r\nContent-Length:\r\n\r\n"}, true, true},
		{"ten digits are refused", []string{"INFO sip:a SIP/2.0\r\nContent-Length: 1000000000\r\n\r\n"}, true, true},
		{"nine digits are a body to wait for", []string{"INFO sip:a SIP/2.0\r\nContent-Length: 999999999\r\n\r\n"}, true, false},
		{"a header named like a prefix is not Content-Length", []string{"INFO sip:a SIP/2.0\r\nContent-Lengths: 3\r\nll: 3\r\n\r\n"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			started, between := feedAll(tt.chunks...)
			if started != tt.started || between != tt.wantBetween {
				t.Errorf("started %v between %v, want %v %v", started, between, tt.started, tt.wantBetween)
			}
		})
	}
}

// TestFramerEveryByte feeds messages one byte at a time: the framer is
// between messages only before the first byte and after the last.
func TestFramerEveryByte(t *testing.T) {
	for _, msg := range []string{optionsMsg, infoMsg} {
		var f framer
		if f.feed([]byte("\r\n")) || !f.between() {
			t.Fatal("a keep-alive started a message")
		}
		for i := 0; i < len(msg); i++ {
			started := f.feed([]byte{msg[i]})
			if started != (i == 0) {
				t.Fatalf("byte %d (%q): started %v", i, msg[i], started)
			}
			if want := i == len(msg)-1; f.between() != want {
				t.Fatalf("byte %d (%q) of %q: between %v, want %v", i, msg[i], msg, f.between(), want)
			}
		}
	}
}

// TestFramerEverySplit feeds two messages and keep-alives in two reads
// split at every offset: the end state is the same as in one read.
func TestFramerEverySplit(t *testing.T) {
	stream := "\r\n" + infoMsg + "\r\n\r\n" + optionsMsg
	for i := 0; i <= len(stream); i++ {
		started, between := feedAll(stream[:i], stream[i:])
		if !started || !between {
			t.Fatalf("split at %d: started %v between %v", i, started, between)
		}
		var f framer
		f.feed([]byte(stream[:i]))
		inMsg := i > 2 && i < 2+len(infoMsg) || i > 6+len(infoMsg) && i < len(stream)
		if f.between() == inMsg {
			t.Fatalf("after %d bytes %q: between %v", i, stream[:i], f.between())
		}
	}
}

// FuzzFramer: however the same bytes are split into reads, the framer ends
// in the same state, and it never panics.
func FuzzFramer(f *testing.F) {
	f.Add([]byte(infoMsg+optionsMsg), []byte{3, 40, 7})
	f.Add([]byte("\r\n\r\nINFO sip:a SIP/2.0\r\nl:2\r\n\r\nab"), []byte{1})
	f.Add([]byte("X\r\nContent-Length: 999999999\r\n\r\n"), []byte{0, 0, 200})
	f.Add([]byte("A\nContent-Length:"+strings.Repeat(" ", 30)+"7\n\n"), []byte{50})
	f.Fuzz(func(t *testing.T, data, splits []byte) {
		var whole framer
		startedWhole := whole.feed(data)
		var parts framer
		startedParts, rest := false, data
		for _, s := range splits {
			n := min(int(s), len(rest))
			startedParts = parts.feed(rest[:n]) || startedParts
			rest = rest[n:]
		}
		startedParts = parts.feed(rest) || startedParts
		if whole.between() != parts.between() || startedWhole != startedParts {
			t.Fatalf("whole: between %v started %v; split %v: between %v started %v",
				whole.between(), startedWhole, splits, parts.between(), startedParts)
		}
		if whole.state != parts.state || whole.body != parts.body || whole.clen != parts.clen || whole.lineLen != parts.lineLen {
			t.Fatalf("state differs: whole %+v, split %+v", whole, parts)
		}
	})
}

// TestFramerPaddedContentLength: RFC 3261 allows any linear white space
// after the colon; a Content-Length line longer than the framer's 40-byte
// line buffer must not be read from its truncated start.
func TestFramerPaddedContentLength(t *testing.T) {
	for _, pad := range []int{1, 22, 30, 60} {
		head := "INFO sip:a SIP/2.0\r\nContent-Length:" + strings.Repeat(" ", pad) + "12345\r\n\r\n"
		body := strings.Repeat("a", 12345)
		if _, between := feedAll(head, body[:12344]); between {
			t.Errorf("pad %d: between messages before the body is whole", pad)
		}
		if _, between := feedAll(head, body); !between {
			t.Errorf("pad %d: not between messages after the whole body", pad)
		}
	}
}
