// Command paygen writes what test/sipp/run.sh's payment scenarios play: a
// caller keying a whole card (number, "#", expiry, security code) after a
// pause, as RTP in pcap files for SIPp's play_pcap_audio, and as a key plan
// for uac_pay.xml's SIP INFO loop. The tones and events come from
// internal/dtmf's generators.
//
//	paygen -out DIR
//	paygen -unprotect INLINE-KEY [-event PT] <packets.hex >packets.tsv
//
// The second form decrypts the SRTP the contact center recorded (see
// unprotect).
//
// writes one directory a way of keying, each holding what uac_pay.xml
// reads from its working directory:
//
//	inband-pcmu/  in-band tones in G.711 µ-law (PT 0)
//	inband-pcma/  in-band tones in G.711 A-law (PT 8)
//	rfc4733/      RFC 4733 telephone-events (PT 101) between µ-law frames
//	info/         µ-law background only; the keys go as SIP INFO
//	srtp/         inband-pcmu, encrypted with SDES-SRTP (AES_CM_128_HMAC_SHA1_80)
//
//	caller.pcap   the caller's audio (low noise, and the keys when in-band or events)
//	callers.csv   -inf: the caller's number, the INFO key plan ("-" for none),
//	              the payload type, the SDP profile, an SDP attribute line (a=crypto)
//	hold_ms       -d: how long the call stays up after the keys (or the audio) start
//
// and DIR/keys, the keys pressed, and DIR/lead_ms, when the first key goes
// down (ms into the audio), for the verdict.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// way is one way of keying the card.
type way struct {
	dir    string
	pt     uint8 // audio payload type: 0 PCMU, 8 PCMA
	inband bool  // keys as tones in the audio
	events bool  // keys as RFC 4733 events
	info   bool  // keys as SIP INFO (application/dtmf-relay)
	srtp   bool  // the audio encrypted with callerKey
}

var ways = []way{
	{dir: "inband-pcmu", pt: 0, inband: true},
	{dir: "inband-pcma", pt: 8, inband: true},
	{dir: "rfc4733", pt: 0, events: true},
	{dir: "info", pt: 0, info: true},
	{dir: "srtp", pt: 0, inband: true, srtp: true},
}

// callers is how many caller numbers each callers.csv holds (sipp reuses them in turn).
const callers = 50

func main() {
	out := flag.String("out", "", "directory to write into (created)")
	key := flag.String("unprotect", "", "decrypt SRTP packets (hex lines on stdin) with this inline "+srtpSuite+" key")
	ev := flag.Uint("event", 101, "with -unprotect: the telephone-event payload type")
	flag.Parse()
	var err error
	switch {
	case *key != "":
		err = unprotect(os.Stdin, os.Stdout, *key, uint8(*ev))
	case *out != "":
		err = run(*out)
	default:
		fmt.Fprintln(os.Stderr, "usage: paygen -out DIR | paygen -unprotect KEY [-event PT]")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "paygen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	plan := cardPlan()
	for _, w := range ways {
		dir := filepath.Join(out, w.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := writeWay(dir, w, plan); err != nil {
			return fmt.Errorf("%s: %w", w.dir, err)
		}
	}
	if err := os.WriteFile(filepath.Join(out, "lead_ms"), []byte(fmt.Sprintln(leadFrames*frameMS)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "keys"), []byte(cardKeys+"\n"), 0o644)
}

func writeWay(dir string, w way, plan []press) error {
	f, err := os.Create(filepath.Join(dir, "caller.pcap"))
	if err != nil {
		return err
	}
	if err := writeAudio(f, w, plan); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	keys, hold := "-", frames(plan)*frameMS+300
	if w.info {
		keys = infoPlan(plan)
		hold = (frames(plan) - plan[len(plan)-1].at/frameMS) * frameMS // the rest of the audio after the last INFO
	}
	var csv strings.Builder
	profile, attr := plainAVP, "a=ptime:20"
	if w.srtp {
		profile, attr = srtpAVP, cryptoLine
	}
	csv.WriteString("SEQUENTIAL\n# caller number; INFO key plan (key:ms since the previous key), - for none; audio payload type; SDP profile; SDP attribute\n")
	for i := range callers {
		fmt.Fprintf(&csv, "120255501%02d;%s;%d;%s;%s\n", i, keys, w.pt, profile, attr)
	}
	if err := os.WriteFile(filepath.Join(dir, "callers.csv"), []byte(csv.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "hold_ms"), []byte(fmt.Sprintln(hold)), 0o644)
}

// infoPlan is the plan as uac_pay.xml reads it: key:delay,key:delay,...
func infoPlan(plan []press) string {
	parts := make([]string, len(plan))
	for i, p := range plan {
		parts[i] = fmt.Sprintf("%c:%d", p.key, p.delay)
	}
	return strings.Join(parts, ",")
}
