// Package audit keeps tonewall's append-only, hash-chained audit log: one JSON
// object per line, each holding the SHA-256 of the line before it.
//
//	{"seq":1,…,"prev":"000…0","hash":H1}
//	{"seq":2,…,"prev":H1,"hash":H2}      hash = SHA-256(the record with hash "")
//
// A [Log] appends records (capture started and ended, detokenization, …) and
// fsyncs each before Append returns; it is safe for concurrent use, and an
// advisory lock keeps a second process from forking the chain. [Open]
// resumes the chain from the last record after checking it. [Verify] reads a
// whole log and names the first line that was edited, inserted, deleted,
// reordered or cut; it backs `tonewall audit verify`.
//
// Records never hold card data. The fields are identifiers and outcomes, and
// Append replaces any run of digits that validates as a card number (IIN
// brand, length, Luhn) with "[redacted]" before writing, so a number that
// slips into a call id or reason cannot reach the disk. Tokens, which are
// Luhn-invalid by design, are kept: an auditor needs to know which token was
// detokenized.
//
// What a chain cannot show: records cut from the end of the file leave a
// shorter, valid chain. Against that, keep the head (see [Log.Head]) somewhere
// else — a log line, a metric, a periodic export — and compare it with the
// last record Verify reports.
package audit
