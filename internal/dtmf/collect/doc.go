// Package collect is the capture state machine: it turns key presses from
// RFC 4733 events, in-band tones and SIP INFO into validated card fields.
// It is pure — no goroutines, sockets or clock: every input carries its time,
// Deadline says when to call Tick next, and every call returns the events it
// caused. The per-call capture code drives it from one goroutine:
//
//	New ─▶ idle ─Start─▶ collecting ──every field valid──▶ tokenizing ─Finish(nil)─▶ tokenized
//	                       │  ▲                              │
//	                       │  │ next field, re-prompt,       └─Finish(err)─▶ failed
//	                       ├──┘ Retry(field)
//	                       ├─attempts exhausted─▶ failed
//	                       └─Tick at Options.Timeout─▶ timed_out
//	 idle, collecting, tokenizing: Cancel or Wipe ─▶ cancelled; End ─▶ call_ended
//
// Inside collecting, each field in order:
//
//	prompt ─▶ digits ─▶ max length or '#' ─▶ valid? ─yes─▶ (PAN with ConfirmPAN: prompt
//	  ▲       ('*' clears the entry)           │            again, entries equal?) ─▶ complete
//	  │                                        no: invalid, mismatch, or Tick past the
//	  └──── field_error (attempts left) ◀───── first-digit / inter-digit timeout
//
// Every terminal transition zeroes every collected digit. Digits live only in
// the card.Secret of their field (the PAN, its confirmation entry, expiry,
// cvv, other fields), never anywhere else: events, errors, Status and every
// formatting of a Machine or a Press carry names, counts, the brand and the
// last four of a valid PAN — no other digit.
//
// Fields complete by themselves at their length (expiry 4, cvv the brand's,
// postal_code and digits at Max, the PAN by the rule on full in field.go: Amex at 15,
// Mastercard at 16, any at 19; '#' ends Visa and other variable lengths
// earlier). The PAN confirmation, when enabled, completes at the first
// entry's length; a mismatch wipes both entries and costs an attempt.
//
// One key press may arrive from several sources; Press documents the rule that
// drops the repeats.
package collect
