// Package cdr writes call detail records: one JSON object per line, one
// line per call, to the file of the `cdr` section (none when it names no
// file). A record names the call's two legs and trunks, its times, how it
// ended and the outcome of each capture taken on it; never a digit keyed
// by the caller, never a token (the capture id leads to the audit log,
// which has it, for those allowed to read that).
//
// The SIP path hands records to a [Writer] without waiting: a bounded queue
// between them drops what does not fit and counts it
// (tonewall_cdr_dropped_total), so a slow or full disk never holds a call.
// One goroutine, started by [Open] and ended by [Writer.Close], writes
// the queue out in batches and fsyncs by the configured policy. [Writer.Reopen]
// closes and reopens the file at its path (logrotate's move, then SIGHUP);
// max_size renames a full file aside, with the time in its name.
package cdr
