package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pion/rtp"

	"github.com/tonewall/tonewall/internal/dtmf"
)

// readPcap returns the RTP packets of a file newPcapWriter wrote, checking
// the framing SIPp relies on: Ethernet, IPv4, UDP to one port, 20 ms apart.
func readPcap(t *testing.T, b []byte) [][]byte {
	t.Helper()
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(b[20:]) != linkEthernet {
		t.Fatalf("not a little-endian Ethernet pcap")
	}
	var pkts [][]byte
	var last int64 = -1
	for b = b[24:]; len(b) > 0; {
		usec := int64(binary.LittleEndian.Uint32(b))*1e6 + int64(binary.LittleEndian.Uint32(b[4:]))
		n := int(binary.LittleEndian.Uint32(b[8:]))
		frame := b[16 : 16+n]
		b = b[16+n:]
		if last >= 0 && usec-last != frameMS*1000 {
			t.Fatalf("packet %d: %d µs after the last, want %d", len(pkts), usec-last, frameMS*1000)
		}
		last = usec
		ip := frame[14:]
		udp := ip[20:]
		if binary.BigEndian.Uint16(frame[12:]) != 0x0800 || ip[9] != 17 || binary.BigEndian.Uint16(udp[2:]) != udpDstPort {
			t.Fatalf("packet %d: not IPv4 UDP to port %d", len(pkts), udpDstPort)
		}
		if int(binary.BigEndian.Uint16(ip[2:])) != len(ip) || int(binary.BigEndian.Uint16(udp[4:])) != len(udp) {
			t.Fatalf("packet %d: IP or UDP length does not match the frame", len(pkts))
		}
		pkts = append(pkts, udp[8:])
	}
	return pkts
}

func generate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEventsCarryTheCard: the RFC 4733 caller's events name every key of
// the card in order, one press a timestamp, between audio frames of one
// stream with no gap in its sequence numbers.
func TestEventsCarryTheCard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(generate(t), "rfc4733", "caller.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	pkts := readPcap(t, b)
	if len(pkts) != frames(cardPlan()) {
		t.Fatalf("%d packets, want one a frame: %d", len(pkts), frames(cardPlan()))
	}
	var keys strings.Builder
	var seq uint16
	seen := map[uint32]bool{}
	for i, raw := range pkts {
		var p rtp.Packet
		if err := p.Unmarshal(raw); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if i > 0 && p.SequenceNumber != seq+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, p.SequenceNumber, seq)
		}
		seq = p.SequenceNumber
		switch p.PayloadType {
		case eventPT:
			e, err := dtmf.DecodeEvent(p.Payload)
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			k, ok := e.Key()
			if !ok {
				t.Fatalf("packet %d: event %d is no key", i, e.Code)
			}
			if !seen[p.Timestamp] {
				seen[p.Timestamp] = true
				keys.WriteByte(k.Char())
			}
		case 0:
			if len(p.Payload) != frameLen {
				t.Fatalf("packet %d: %d bytes of audio, want %d", i, len(p.Payload), frameLen)
			}
		default:
			t.Fatalf("packet %d: payload type %d", i, p.PayloadType)
		}
	}
	if keys.String() != cardKeys {
		t.Fatalf("events key %q, want %q", keys.String(), cardKeys)
	}
}

// TestSRTPRoundTrip: the SRTP caller's packets do not carry the plain
// audio, and unprotect, given the key offered in callers.csv, gives back
// the in-band caller's packets exactly; with another key it fails.
func TestSRTPRoundTrip(t *testing.T) {
	dir := generate(t)
	read := func(way string) [][]byte {
		b, err := os.ReadFile(filepath.Join(dir, way, "caller.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		return readPcap(t, b)
	}
	plain, secret := read("inband-pcmu"), read("srtp")
	csv, err := os.ReadFile(filepath.Join(dir, "srtp", "callers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(csv, []byte(";"+srtpAVP+";"+cryptoLine+"\n")) {
		t.Fatalf("callers.csv does not offer the key:\n%s", csv)
	}
	var in bytes.Buffer
	for i, p := range secret {
		if bytes.Contains(p, plain[i][12:]) {
			t.Fatalf("packet %d: the SRTP packet holds the plain payload", i)
		}
		in.WriteString(hex.EncodeToString(p) + "\n")
	}
	var out bytes.Buffer
	if err := unprotect(bytes.NewReader(in.Bytes()), &out, callerKey, eventPT); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(plain) {
		t.Fatalf("%d packets decrypted, want %d", len(lines), len(plain))
	}
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if f[0] != "0" || f[3] != hex.EncodeToString(plain[i][12:]) {
			t.Fatalf("packet %d decrypts to %q", i, l)
		}
	}
	other := "Y29udGFjdCBjZW50ZXIgc2lwcCBrZXkgMDEyMzQ1"
	if err := unprotect(bytes.NewReader(in.Bytes()), &out, other, eventPT); err == nil {
		t.Fatal("SRTP decrypted with a key it was not encrypted with")
	}
}

// TestInfoPlan: the INFO plan keys the card in order, the first key after
// the lead, at the same times as the audio.
func TestInfoPlan(t *testing.T) {
	plan := infoPlan(cardPlan())
	var keys strings.Builder
	at := 0
	for i, step := range strings.Split(plan, ",") {
		k, ms, ok := strings.Cut(step, ":")
		if !ok || len(k) != 1 {
			t.Fatalf("step %d: %q", i, step)
		}
		keys.WriteString(k)
		var d int
		for _, c := range ms {
			d = d*10 + int(c-'0')
		}
		at += d
		if want := cardPlan()[i].at; at != want {
			t.Fatalf("key %d at %d ms, the audio has it at %d", i, at, want)
		}
	}
	if keys.String() != cardKeys || cardPlan()[0].at != leadFrames*frameMS {
		t.Fatalf("plan %q", plan)
	}
}
