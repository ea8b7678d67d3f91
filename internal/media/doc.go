// Package media relays a call's RTP/SRTP between its two legs, the carrier
// trunk and the contact-center trunk. Every packet of a call passes through
// it, each way:
//
//	leg X socket → source check (signalled, or latched) → SRTP open (X's key)
//	  → payload-type map (by codec name) → [Stage: Carrier→ContactCenter only]
//	  → renumber (Y's SSRC, sequence, timestamp) → SRTP seal (Y's key) → leg Y socket
//
// RTCP takes the same path without the stage, translated into the other
// leg's numbering: SSRCs, sender reports' RTP timestamps and report blocks'
// highest sequence numbers. Packet.Codec names well-known codecs in one
// canonical spelling ("PCMU", "telephone-event") whatever the SDP wrote.
//
// A Manager owns the port pool; a Session is one call. The B2BUA drives a
// Session with SDP: Offer from one leg returns the offer for the other leg,
// Answer from that leg returns the answer for the first; Rollback forgets an
// offer that was rejected. Each leg gets tonewall's address and ports in its
// SDP, codecs both trunks allow, and crypto of its own: keys are never the
// same on the two legs, and are never logged (they format as "[redacted]").
//
// Ports: each leg holds an even RTP port and the odd RTCP port above it
// (one socket when the leg offered rtcp-mux). Ports are bound at the first
// Offer and released by Close (or at once if that first Offer fails); a
// released pair waits Config.Drain before it is handed out again.
// Manager.PortsInUse counts ports held by open sessions only;
// PortsDraining counts those still in quarantine.
//
// Ending by itself: Done is closed and Err says why (ErrInactive after
// Config.Inactivity without media while both legs are sendrecv; ErrDTLS
// when a handshake fails). The owner still calls Close.
//
// Keys: SDES (a=crypto, RFC 4568) or DTLS-SRTP (a=fingerprint/a=setup, RFC
// 5763/5764) per LegPolicy.KeyExchange. A DTLS leg's handshake runs on its
// RTP port (records told apart by their first byte, RFC 7983); until it
// completes that leg's media is dropped, never sent in clear, and a failed
// handshake ends the session (Err wraps ErrDTLS). RTP is protected by the
// package's own zero-allocation AES-CM/HMAC-SHA1 and AES-GCM transforms;
// SRTCP by pion/srtp.
//
// Goroutines: after the first Answer a Session owns one goroutine per bound
// socket (2 to 4), one inactivity monitor and, per DTLS leg, one handshake
// goroutine (plus pion/dtls's own, ended by closing the association); Close
// closes the sockets and associations and waits for all of them. Negotiation takes the Session's mutex; the packet
// path takes no lock, reading an immutable route swapped atomically on every
// Answer.
//
// Stage: SetStage installs a Stage on the Carrier→ContactCenter direction,
// the customer's audio, whichever side placed the call. It sees each RTP
// packet decrypted, in the carrier's numbering, and forwards it by calling
// its Emitter: zero times to drop, once to pass or replace, more to inject;
// it may keep copies and emit them during a later call to delay them. The pipeline
// renumbers what it emits, so the contact center sees no gaps.
package media
