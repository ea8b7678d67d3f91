package hostile

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// newAgent is an agent on a UDP socket at host until the test ends: as the
// contact center it answers every INVITE 200 at once; as a carrier it
// places calls to user.
func newAgent(t *testing.T, host, user string) *sipua.Agent {
	t.Helper()
	// Failures to answer are tonewall's under flood, for the test to judge
	// by its counts, not the agent's to report.
	a := sipua.NewWith(t, sipua.Options{Host: host, User: user, Errorf: func(string, ...any) {}})
	a.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{} })
	return a
}

// invites is the number of INVITEs that reached a for user.
func invites(a *sipua.Agent, user string) int {
	n := 0
	for _, r := range a.Received(sip.INVITE) {
		if r.Recipient.User == user {
			n++
		}
	}
	return n
}

// call places a whole call at to: INVITE, 200, ACK, BYE.
func call(a *sipua.Agent, to string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.CallAndHangUp(ctx, to)
}
