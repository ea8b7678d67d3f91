package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantRefused fails the test unless err is a SIP failure response with
// status want; what says which call.
func wantRefused(t *testing.T, err error, want int, what string) {
	t.Helper()
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) {
		t.Fatalf("%s: want a SIP failure response, got %v", what, err)
	}
	if de.Res.StatusCode != want {
		t.Fatalf("%s: status %d, want %d", what, de.Res.StatusCode, want)
	}
}

func TestBusy(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc, s := p.carrier, p.cc, p.s
	cc.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{Ring: true, Code: 486} })
	_, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	wantRefused(t, err, 486, "a busy contact center")
	s.WaitCalls(t, 0)
}

// TestCancelBeforeAnswer: the carrier gives up while the contact center
// rings; the contact center must see the CANCEL and tonewall forget the call.
func TestCancelBeforeAnswer(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc, s := p.carrier, p.cc, p.s
	cc.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{Ring: true, Delay: 3 * time.Second} })
	ctx := cancelAfterInvite(t, cc, 300*time.Millisecond) // let the 180 cross
	_, err := carrier.Call(ctx, s.Addr("carrier"), carrier.SDP())
	if err == nil {
		t.Fatal("call answered, want cancelled")
	}
	waitOne(t, cc.Cancels, "the contact center never got the CANCEL")
	// RFC 3261 8.2.6.2: the 487 carries the To tag of the 180 before it.
	if tags := carrier.ToTags(); len(tags) < 2 || tags[0] != tags[len(tags)-1] {
		t.Fatalf("To tags of the carrier's responses: %v, want the 180's on the 487 too", tags)
	}
	s.WaitCalls(t, 0)
}

// TestCancelRacesAnswer: the carrier's CANCEL crosses the contact center's
// 200; tonewall must end up with no call and the contact center with a BYE.
func TestCancelRacesAnswer(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc, s := p.carrier, p.cc, p.s
	cc.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{Ring: true, Delay: 200 * time.Millisecond} })
	for i := 0; i < 5; i++ {
		ctx := cancelAfterInvite(t, cc, time.Duration(150+i*20)*time.Millisecond)
		sess, err := carrier.Call(ctx, s.Addr("carrier"), carrier.SDP())
		if err == nil { // the 200 won: hang up like a caller would
			_ = sess.Bye(ctx10(t))
			sess.Close()
		}
		s.WaitCalls(t, 0)
	}
}

func TestFailoverToSecondTarget(t *testing.T) {
	for _, name := range []string{"no_response", "503"} {
		t.Run(name, func(t *testing.T) {
			carrier, down, up := sipua.New(t, "udp"), sipua.New(t, "udp"), sipua.New(t, "udp")
			down.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{Code: 503} })
			first := down.Addr
			if name == "no_response" {
				first = deadTarget(t)
			}
			s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{first, up.Addr}}})
			sess, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			defer sess.Close()
			up.NextCall(t)
			if name == "503" && len(down.Received(sip.INVITE)) == 0 {
				t.Fatal("first target was never tried")
			}
			must(t, sess.Bye(ctx10(t)))
			waitBye(t, up)
			s.WaitCalls(t, 0)
		})
	}
}

func TestDigestInbound(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{Carrier: sbc.Trunk{InboundAuth: &sbc.Digest{Username: "carrier1", Password: "s3cret"}}})
	carrier, s := p.carrier, p.s
	_, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	wantRefused(t, err, 401, "without credentials")
	_, err = carrier.CallAuth(ctx10(t), s.Addr("carrier"), carrier.SDP(), sipgo.AnswerOptions{Username: "carrier1", Password: "wrong"})
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	sess, err := carrier.CallAuth(ctx10(t), s.Addr("carrier"), carrier.SDP(), sipgo.AnswerOptions{Username: "carrier1", Password: "s3cret"})
	p.answered(t, sess, err)
	p.hangUp(t, ctx10(t), sess)
}

func TestDigestOutbound(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{ContactCenter: sbc.Trunk{OutboundAuth: &sbc.Digest{Username: "tonewall", Password: "pa55"}}})
	cc := p.cc
	cc.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{Challenge: "tonewall:pa55"} })
	sess, _ := p.call(t, ctx10(t))
	if n := len(cc.Received(sip.INVITE)); n != 2 {
		t.Fatalf("contact center got %d INVITEs, want 2 (challenged, then authorized)", n)
	}
	p.hangUp(t, ctx10(t), sess)
}

// TestReinviteHoldResume: hold and resume from either leg; the other leg
// gets each re-INVITE with the direction.
func TestReinviteHoldResume(t *testing.T) {
	for _, from := range []string{"carrier", "contact center"} {
		t.Run(from, func(t *testing.T) {
			p := newPeers(t, "udp", sbc.Options{})
			ctx := ctx10(t)
			sess, dlg := p.call(t, ctx)
			var leg dialog = sess
			to, near, far := sess.InviteResponse.Contact().Address, p.carrier, p.cc
			if from == "contact center" {
				leg, to, near, far = dlg, dlg.InviteRequest.Contact().Address, p.cc, p.carrier
			}
			for _, dir := range []string{"sendonly", "sendrecv"} {
				req := sip.NewRequest(sip.INVITE, to)
				req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				req.SetBody(sipua.SDP(near.Phone.Port(), dir))
				res, err := leg.Do(ctx, req)
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("re-INVITE %s: %v %v", dir, res, err)
				}
				ack := sip.NewRequest(sip.ACK, to)
				ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
				must(t, leg.WriteRequest(ack))
				got := far.Received(sip.INVITE)
				if len(got) == 0 || !strings.Contains(string(got[len(got)-1].Body()), "a="+dir) {
					t.Fatalf("the other leg's last INVITE does not carry a=%s", dir)
				}
			}
			p.hangUp(t, ctx, sess)
		})
	}
}

// dialog is either side's end of a SIP dialog.
type dialog interface {
	Do(ctx context.Context, req *sip.Request) (*sip.Response, error)
	WriteRequest(req *sip.Request) error
}

// cancelAfterInvite is a context for the carrier's call that is cancelled d
// after cc got the INVITE, or when the test ends: a caller giving up.
func cancelAfterInvite(t *testing.T, cc *sipua.Agent, d time.Duration) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		<-cc.Invites
		time.Sleep(d)
		cancel()
	}()
	return ctx
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	waitWithin(t, 5*time.Second, what, ok)
}

// waitWithin waits up to d for ok, failing the test after that.
func waitWithin(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReliableProvisional: a contact center that sends 183 with 100rel gets
// its PRACK from tonewall; the carrier hears early media (183 with SDP).
func TestReliableProvisional(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc := p.carrier, p.cc
	cc.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{Reliable: true} })
	sess, _ := p.call(t, ctx10(t))
	pracks := cc.Received(sip.PRACK)
	if len(pracks) != 1 {
		t.Fatalf("contact center got %d PRACKs, want 1", len(pracks))
	}
	if rack := pracks[0].GetHeader("RAck"); rack == nil || !strings.HasPrefix(rack.Value(), "1 ") {
		t.Fatalf("PRACK without the right RAck: %v", pracks[0])
	}
	if !carrier.GotStatus(183) {
		t.Fatal("the carrier never got the 183")
	}
	p.hangUp(t, ctx10(t), sess)
}

// TestCancelBeforeAnyProvisional: the caller cancels before the contact
// center has said anything; tonewall waits for its first provisional, then
// CANCELs (RFC 3261 9.1), so no half-set-up call is left at the contact center.
func TestCancelBeforeAnyProvisional(t *testing.T) {
	carrier, cc := sipua.New(t, "udp"), sipua.New(t, "udp")
	// A 100 Trying after 200 ms, as a SIP stack sends by itself; no ringing.
	cc.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{Trying: 200 * time.Millisecond, Delay: time.Second} })
	s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}})
	ctx := cancelAfterInvite(t, cc, 20*time.Millisecond) // before any response from the contact center
	if _, err := carrier.Call(ctx, s.Addr("carrier"), carrier.SDP()); err == nil {
		t.Fatal("call answered, want cancelled")
	}
	waitOne(t, cc.Cancels, "the contact center never got the CANCEL")
	s.WaitCalls(t, 0)
}
