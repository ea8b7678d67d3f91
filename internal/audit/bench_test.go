package audit

import (
	"path/filepath"
	"testing"
)

// BenchmarkAppend is one record written and fsynced.
//
//	go test -run '^$' -bench Append ./internal/audit
func BenchmarkAppend(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "audit.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rec := Record{Type: CaptureEnded, Actor: "agent-1", CallID: "a84b4c76e66710@pbx", CaptureID: "cap-1", Outcome: "tokenized"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(rec); err != nil {
			b.Fatal(err)
		}
	}
}
