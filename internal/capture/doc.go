// Package capture runs capture windows on live calls: it is the only code on
// the packet path that sees digits.
//
//	media (carrier→CC) ─▶ Controller.Process ─┬─ window closed: emit as is (no delay)
//	                                           └─ window open:
//	                                                telephone-event ─▶ EventReceiver ─▶ presses (packet dropped)
//	                                                PCMU/PCMA ─▶ decode ─▶ dtmf.Suppressor ─▶ encode ─▶ canary ─▶ emit (masked)
//	                                                                              └─ digits ─▶ presses
//	canary: a second dtmf.Detector on what the window forwards; a key (or a forwarded
//	telephone-event) is a leak: dropped, counted, audited, and the capture fails closed
//	SIP INFO (carrier) ─▶ Controller.OnInfo ─▶ presses (answered 200, not relayed)
//	presses ─▶ Capture.run (one goroutine per capture) ─▶ collect.Machine ─▶ vault ─▶ delivery
//
// A Service holds one Controller per call whose route asks for captures, and
// the Broker that fans masked events out to the control API. A Controller
// runs on its call's media goroutine and never blocks it: presses go to the
// open capture through a buffered channel. A Capture owns one goroutine,
// started by Start and ended by its terminal state; whatever the end, the
// digits it collected are wiped before it returns.
package capture
