package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// The SRTP caller's SDES key: AES_CM_128_HMAC_SHA1_80, master key and salt
// (30 bytes), offered inline in uac_pay.xml's a=crypto. Fixed, so that the
// pcap can be encrypted before the call; tonewall must use keys of its own
// on the contact center's leg.
const (
	srtpSuite  = "AES_CM_128_HMAC_SHA1_80"
	callerKey  = "c2lwcCBwYXltZW50IGNhbGxlciBrZXkgMDEyMzQ1"
	keyLen     = 16
	saltLen    = 14
	srtpAVP    = "RTP/SAVP"
	plainAVP   = "RTP/AVP"
	cryptoLine = "a=crypto:1 " + srtpSuite + " inline:" + callerKey
)

// newContext is an SRTP context for an inline AES_CM_128_HMAC_SHA1_80 key.
func newContext(inline string) (*srtp.Context, error) {
	b, err := base64.StdEncoding.DecodeString(inline)
	if err != nil || len(b) != keyLen+saltLen {
		return nil, fmt.Errorf("inline key: want %d bytes of base64", keyLen+saltLen)
	}
	return srtp.CreateContext(b[:keyLen], b[keyLen:], srtp.ProtectionProfileAes128CmHmacSha1_80)
}

// protector encrypts each packet of a stream with one context.
func protector(inline string) (func([]byte) ([]byte, error), error) {
	ctx, err := newContext(inline)
	if err != nil {
		return nil, err
	}
	return func(raw []byte) ([]byte, error) {
		var h rtp.Header
		if _, err := h.Unmarshal(raw); err != nil {
			return nil, err
		}
		return ctx.EncryptRTP(nil, raw, &h)
	}, nil
}

// unprotect reads one SRTP packet a line (hex, as tshark prints udp.payload)
// and writes what pay.sh splits recordings into: payload type, timestamp,
// the event code when the payload type is ev, the payload in hex. A packet
// that does not decrypt is an error: the recording is the contact center's
// leg and every packet on it must be tonewall's.
func unprotect(in io.Reader, out io.Writer, inline string, ev uint8) error {
	ctx, err := newContext(inline)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		line := strings.ReplaceAll(strings.TrimSpace(sc.Text()), ":", "")
		if line == "" {
			continue
		}
		pkt, err := hex.DecodeString(line)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		var h rtp.Header
		plain, err := ctx.DecryptRTP(nil, pkt, &h)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		payload := plain[h.MarshalSize():]
		event := ""
		if h.PayloadType == ev && len(payload) > 0 {
			event = fmt.Sprint(payload[0])
		}
		fmt.Fprintf(w, "%d\t%d\t%s\t%x\n", h.PayloadType, h.Timestamp, event, payload)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return w.Flush()
}
