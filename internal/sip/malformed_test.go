package sip

import (
	"strings"
	"testing"
)

func TestBadRequestEchoesOnlyWhatA400Needs(t *testing.T) {
	raw := "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n" +
		"To: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: one INVITE\r\nX-Secret: 4111111111111111\r\n\r\n"
	got := string(badRequest([]byte(raw), 400, "Bad Request"))
	for _, want := range []string{"SIP/2.0 400 Bad Request\r\n", "Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1", "Call-ID: c1", "CSeq: one INVITE", "Content-Length: 0\r\n\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("400 lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "X-Secret") {
		t.Errorf("400 echoes a header it need not:\n%s", got)
	}
	if badRequest([]byte("SIP/2.0 200 OK\r\n\r\n"), 400, "Bad Request") != nil {
		t.Error("a response got a 400")
	}
}

// FuzzBadRequest: whatever arrives, building a 400 never panics, and what
// it builds is a response that ends its headers.
func FuzzBadRequest(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nVia: x\r\nCSeq: 1 INVITE\r\n\r\n"))
	f.Add([]byte("OPTIONS sip:a SIP/2.0\nv: y\n\n"))
	f.Add([]byte("\x00\xff SIP/2.0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := badRequest(data, 400, "Bad Request")
		if res != nil && (!strings.HasPrefix(string(res), "SIP/2.0 400 ") || !strings.HasSuffix(string(res), "\r\n\r\n")) {
			t.Fatalf("malformed 400: %q", res)
		}
	})
}
