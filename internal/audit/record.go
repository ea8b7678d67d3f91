package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// Type says what happened. Other packages may define more.
type Type string

// Record types written by tonewall.
const (
	CaptureStarted Type = "capture_started"
	CaptureEnded   Type = "capture_ended" // Outcome: tokenized, failed, cancelled, timed_out, call_ended
	Detokenized    Type = "detokenized"   // Actor: API key name; Token; Outcome: forwarded, failed, denied; Target(Status): the processor
	AccessDenied   Type = "access_denied" // an API call refused: Outcome denied (403, its role) or unauthenticated (401); Reason: route and why
	// MaskLeak: tonewall's leak canary found a key in what a capture window
	// forwarded toward the contact center. Reason: the kind, inband or
	// rfc4733; CallID, CaptureID. Never a digit. The capture fails closed.
	MaskLeak Type = "mask_leak"
	// ConfigReloaded: a new configuration file was put in force without a
	// restart. Actor: "signal:SIGHUP" or the API key's name; Source: the
	// API client's address; Digest: the file's SHA-256; Changed: the keys
	// that changed (trunks, routes, api.keys, sip.limits.max_calls, …).
	ConfigReloaded Type = "config_reloaded"
	// ConfigReloadRefused: a reload was asked for and the file refused;
	// the old configuration stays in force. Reason: where and why (the
	// value at fault is left out). Digest: the file's SHA-256, when read.
	ConfigReloadRefused Type = "config_reload_refused"
)

// Record is one line of the log. Append fills Seq, Time (when zero), Prev and
// Hash. No field may hold card data. Fields added later are omitempty, so a
// record that leaves them empty encodes (and hashes) as it did before them.
type Record struct {
	Seq          uint64    `json:"seq"`
	Time         time.Time `json:"time"`
	Type         Type      `json:"type"`
	Actor        string    `json:"actor,omitempty"`         // API key name, "system", …
	Source       string    `json:"source,omitempty"`        // the IP address of the API client whose request this records
	CallID       string    `json:"call_id,omitempty"`       // tonewall's call id
	CaptureID    string    `json:"capture_id,omitempty"`    //
	Token        string    `json:"token,omitempty"`         // a vault token, never a PAN
	Outcome      string    `json:"outcome,omitempty"`       // tokenized, failed, ok, denied, …
	Reason       string    `json:"reason,omitempty"`        // e.g. vault_unavailable
	Target       string    `json:"target,omitempty"`        // where card data was sent: the payment processor's host:port
	TargetStatus int       `json:"target_status,omitempty"` // the HTTP status Target answered
	Digest       string    `json:"digest,omitempty"`        // hex SHA-256 of a configuration file; anything else is dropped
	Changed      []string  `json:"changed,omitempty"`       // configuration keys a reload changed
	Prev         string    `json:"prev"`                    // hex SHA-256 of the previous record; Genesis for the first
	Hash         string    `json:"hash"`                    // hex SHA-256 of this record encoded with Hash ""
}

// Genesis is the Prev of the first record.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// encode is the canonical form of a record: encoding/json of the struct
// (fixed field order, no spaces), without a trailing newline.
func (r Record) encode() ([]byte, error) { return json.Marshal(r) }

// sum is the hash a record should carry: over its canonical form with Hash
// empty, which includes Prev and so chains it to the one before.
func (r Record) sum() (string, error) {
	r.Hash = ""
	b, err := r.encode()
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// clean makes the record safe and canonical before it is hashed: valid UTF-8
// (so decoding gives back the same strings), UTC time with no monotonic
// reading, and no card numbers.
func (r *Record) clean() {
	r.Time = r.Time.UTC().Round(0)
	for _, s := range []*string{&r.Actor, &r.CallID, &r.CaptureID, &r.Token, &r.Outcome, &r.Reason, &r.Target} {
		*s = scrub(strings.ToValidUTF8(*s, "\uFFFD"))
	}
	r.Type = Type(scrub(strings.ToValidUTF8(string(r.Type), "\uFFFD")))
	r.Changed = slices.Clone(r.Changed) // the caller's slice is not written
	for i := range r.Changed {
		r.Changed[i] = scrub(strings.ToValidUTF8(r.Changed[i], "\uFFFD"))
	}
	if !isDigest(r.Digest) {
		r.Digest = ""
	}
}

// isDigest reports whether s is the 64 lower-case hex digits of a SHA-256.
// A digest is kept as it is, even where its digits happen to pass for a
// card number: it is a hash of a file, and scrubbing would break it.
func isDigest(s string) bool {
	return len(s) == 2*sha256.Size && strings.Trim(s, "0123456789abcdef") == ""
}

// scrub replaces every run of digits holding a valid card number with
// card.Redacted.
func scrub(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		if card.HoldsPAN([]byte(s[i:j])) {
			b.WriteString(card.Redacted)
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}
