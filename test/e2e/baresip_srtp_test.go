package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// TestBaresipSRTP: baresip calls through tonewall with SRTP it insists on
// (SDES srtp-mand, then DTLS-SRTP); tonewall decrypts on the carrier leg and
// relays plain RTP to the contact center, where the 440 Hz tone baresip
// plays must arrive.
func TestBaresipSRTP(t *testing.T) {
	bin := needTool(t, "baresip")
	for _, tc := range []struct{ enc, keyExchange string }{
		{"srtp-mand", "sdes"},
		{"dtls_srtp", "dtls"},
	} {
		t.Run(tc.enc, func(t *testing.T) {
			cc := sipua.New(t, "tls")
			s := startSBC(t, sbc.Options{Transport: "tls", ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}},
				Carrier: sbc.Trunk{SRTP: "required", KeyExchange: tc.keyExchange}})
			heard := recordRTP(cc)
			dir := t.TempDir()
			writeBaresipConfigEnc(t, dir, tc.enc)
			runBaresip(t, bin, "-n", "127.0.0.1", "-f", dir, "-e",
				fmt.Sprintf("/dial sip:5551000@%s;transport=tls", s.Addr("carrier")), "-t", "5")
			cc.NextCall(t)
			offer := string(cc.Received("INVITE")[0].Body())
			if strings.Contains(offer, "a=crypto") || strings.Contains(offer, "SAVP") {
				t.Fatalf("the contact center was offered SRTP though its trunk has it off:\n%s", offer)
			}
			waitFor(t, "a second of audio at the contact center", func() bool { return len(heard.pcm()) >= 8000 })
			pcm := heard.pcm()
			if share := toneShare(pcm[len(pcm)-4000:], 440); share < 0.5 {
				t.Fatalf("the contact center does not hear baresip's 440 Hz tone (share %.2f)", share)
			}
			select {
			case <-cc.Byes:
			case <-time.After(15 * time.Second):
				t.Fatal("baresip's hangup never reached the contact center")
			}
			s.WaitCalls(t, 0)
		})
	}
}

// toneShare is the fraction of a signal's energy at freq Hz (8 kHz PCM).
func toneShare(pcm []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / 8000
	var re, im, total float64
	for i, v := range pcm {
		x := float64(v)
		re += x * math.Cos(w*float64(i))
		im += x * math.Sin(w*float64(i))
		total += x * x
	}
	if total == 0 {
		return 0
	}
	return 2 * (re*re + im*im) / float64(len(pcm)) / total
}
