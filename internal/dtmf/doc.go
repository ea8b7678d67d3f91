// Package dtmf is tonewall's keypad-tone engine: pure signal processing and
// wire formats, with no sockets, no goroutines and no logging. The media relay
// calls it once per 20 ms packet; hot-path methods write into caller-owned
// buffers and allocate nothing.
//
//	RTP payload ─▶ Suppressor.ProcessG711: decoded to []int16 (8 kHz)
//	               for analysis only (Process takes []int16 itself)
//	                                           │
//	        ┌──────────────── Suppressor.Process ───────────────┐
//	        │  bank (goertzel.go): 8 bins + energy per 5 ms slot │
//	        │     ├─▶ suspicion (suppressor.go) ─┐              │
//	        │     │   1 ms energy blocks ────────┴▶ plan        │
//	        │     │   (mask.go): span edges, key-independent    │
//	        │     └─▶ Detector (detector.go): 20 ms windows     │
//	        │          every 5 ms, Q.24 checks ─▶ Digit events  │
//	        │  lookahead line (40 ms) ─▶ replace spans ─▶ out   │
//	        └───────────────────────────────────────────────────┘
//	                                           │
//	  the payload's own bytes, delayed; only masked spans encoded ─▶ RTP toward the contact center
//
//	RTP telephone-event ─▶ DecodeEvent ─▶ EventReceiver (dedup, segments, RED) ─▶ key
//	SIP INFO body       ─▶ ParseInfo                                          ─▶ key
//	token injection     ◀─ ToneGenerator/AppendKey, AppendEventPackets        ◀─ key
//	recordings          ─▶ DecodeWAV/DecodeRaw ─▶ Detector (tonewall dtmf detect)
//
// A Key inside a capture window is card data: no error string in this
// package contains a digit, and a Key formats as "[key]" under %v, %s and
// %#v; Char gives the character to code that must have it.
package dtmf
