package sip

import (
	"errors"
	"strings"
	"testing"
)

// TestReload: a reload puts new trunks and limits in force for the next
// request (a new trunk's source is answered, Retry-After changes); one
// that would change the listeners is refused and changes nothing; none is
// taken before the listeners are bound.
func TestReload(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	wantStatus(t, only(t, handle(t, s, "carrier", s.onOptions, fromPeer(t, "OPTIONS", strangeSrc))), 403)
	before := s.table().trunks[0]

	next := strings.NewReplacer("retry_after: 7s", "retry_after: 9s",
		"routes:", "  - {name: pbx, role: carrier, listener: carrier, sources: [203.0.113.0/24]}\nroutes:").Replace(handlerYAML)
	if err := s.Reload(testSections(t, next).Config); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, only(t, handle(t, s, "carrier", s.onOptions, fromPeer(t, "OPTIONS", strangeSrc))), 200)
	if s.table().trunks[0] == before || before.cfg.Name != "carrier" || len(before.targets) != 1 {
		t.Fatal("the reload changed a trunk in place instead of replacing the table")
	}
	s.draining.Store(true)
	wantHeader(t, only(t, handle(t, s, "carrier", s.onInvite, fromPeer(t, "INVITE", carrierSrc))), "Retry-After", "9")
	s.draining.Store(false)

	moved := strings.Replace(next, "127.0.0.1:5070", "127.0.0.1:5071", 1)
	if err := s.Reload(testSections(t, moved).Config); err == nil || err.Error() != "sip.listeners: needs a restart" {
		t.Fatalf("listener change: %v", err)
	}
	wantStatus(t, only(t, handle(t, s, "carrier", s.onOptions, fromPeer(t, "OPTIONS", strangeSrc))), 200)

	idle := &Server{ready: make(chan struct{})}
	if err := idle.Reload(testSections(t, next).Config); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("reload before Run: %v", err)
	}
}
