// Package dtmf is tonewall's keypad-tone engine: pure signal processing and
// wire formats, with no sockets, no goroutines and no logging. The media relay
// calls it once per 20 ms packet; hot-path methods write into caller-owned
// buffers and allocate nothing.
//
//	RTP payload ─▶ DecodeUlaw/DecodeAlaw ─▶ []int16 (8 kHz)
//	                                           │
//	        ┌──────────────── Suppressor.Process ───────────────┐
//	        │  bank: 8 Goertzel bins per 5 ms slot (+ energy)   │
//	        │     ├─▶ suspicion (per slot) ─▶ mask spans        │
//	        │     └─▶ Detector: 20 ms windows every 5 ms,       │
//	        │          Q.24 checks ─▶ Digit start / end events  │
//	        │  delay line (lookahead, 40 ms) ─▶ mask ─▶ out     │
//	        └───────────────────────────────────────────────────┘
//	                                           │
//	                         out []int16 ─▶ EncodeUlaw ─▶ RTP toward the contact center
//
//	RTP telephone-event ─▶ DecodeEvent ─▶ EventReceiver (dedup, wrap) ─▶ key
//	SIP INFO body       ─▶ ParseInfo                                  ─▶ key
//	token injection     ◀─ Generator (tones) / EncodeEvent (RFC 4733) ◀─ key
//
// A Key inside a capture window is card data: no error string or log line in
// this package contains one, and callers must not print them either.
package dtmf
