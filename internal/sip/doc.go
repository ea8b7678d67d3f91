// Package sip is tonewall's back-to-back user agent on github.com/emiago/sipgo.
//
// Every call is two dialogs joined by a Call: leg A is the dialog with the
// party that sent the INVITE, leg B the dialog tonewall opens toward the
// routed trunk's target. Nothing of one dialog's Via, Record-Route, Contact,
// Call-ID or tags reaches the other; only headers on the pass list cross.
//
//	carrier ──INVITE──▶ Server.onInvite ─▶ trunk match, auth, route
//	                          │ media.Session.Offer (SDP rewritten)
//	                          ▼
//	                    Call{a: Leg(UAS), b: Leg(UAC)} ──INVITE──▶ contact center
//	in-dialog requests: dialogs[(Call-ID, our tag)] → Leg → Call.relay → other Leg
//
// Goroutines: sipgo runs each request's handler in its own goroutine; an
// INVITE handler lives until the call is answered or fails (and, on UDP, until
// the 2xx is acknowledged). A Call starts no goroutine of its own except the
// watcher of its media session, which ends with the call.
package sip
