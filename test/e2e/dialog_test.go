package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// TestLateOffer: an INVITE without SDP (as Genesys sends) gets the offer in
// the 200 and the answer in the ACK, rewritten on each side, in both
// directions.
func TestLateOffer(t *testing.T) {
	for _, dir := range []string{"carrier_to_cc", "cc_to_carrier"} {
		t.Run(dir, func(t *testing.T) {
			caller, callee := sipua.New(t, "udp"), sipua.New(t, "udp")
			opts := sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{callee.Addr}}}
			entry := "carrier"
			if dir == "cc_to_carrier" {
				opts = sbc.Options{Carrier: sbc.Trunk{Targets: []string{callee.Addr}}, ContactCenter: sbc.Trunk{Targets: []string{"127.0.0.1:9"}}}
				entry = "contact_center"
			}
			s := startSBC(t, opts)
			ctx := ctx10(t)
			host, port := splitHostPort(t, s.Addr(entry))
			sess, err := caller.Dialogs.Invite(ctx, sip.Uri{Scheme: "sip", User: "5551000", Host: host, Port: port}, nil)
			must(t, err)
			defer sess.Close()
			must(t, sess.WaitAnswer(ctx, sipgo.AnswerOptions{}))
			offer := string(sess.InviteResponse.Body())
			if !strings.Contains(offer, "m=audio") {
				t.Fatalf("200 to a late offer carries no SDP offer:\n%s", offer)
			}
			if strings.Contains(offer, fmt.Sprint(callee.Phone.Port())) {
				t.Fatal("the callee's RTP port crossed tonewall unrewritten")
			}
			ack := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
			ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			ack.SetBody(caller.SDP())
			must(t, sess.WriteAck(ctx, ack))
			waitFor(t, "ACK with SDP at the callee", func() bool {
				acks := callee.Received(sip.ACK)
				return len(acks) > 0 && strings.Contains(string(acks[0].Body()), "m=audio")
			})
			answer := string(callee.Received(sip.ACK)[0].Body())
			if strings.Contains(answer, fmt.Sprint(caller.Phone.Port())) {
				t.Fatal("the caller's RTP port crossed tonewall unrewritten")
			}
			must(t, sess.Bye(ctx))
			waitBye(t, callee)
			s.WaitCalls(t, 0)
		})
	}
}

// TestRecordRoute: the carrier's proxies' Record-Route is kept on the
// carrier leg (BYE toward it follows the route set) and never reaches the
// contact center.
func TestRecordRoute(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc, s := p.carrier, p.cc, p.s
	rr := fmt.Sprintf("<sip:%s;lr;proxy=carrier-edge>", carrier.Addr)
	_, ccCall := p.call(t, ctx10(t), sip.NewHeader("Record-Route", rr))
	inv := cc.Received(sip.INVITE)[0]
	if strings.Contains(inv.String(), "carrier-edge") {
		t.Fatal("the carrier's Record-Route reached the contact center")
	}
	must(t, ccCall.Bye(ctx10(t)))
	waitBye(t, carrier)
	bye := carrier.Received(sip.BYE)[0]
	route := bye.GetHeader("Route")
	if route == nil || !strings.Contains(route.Value(), "carrier-edge") {
		t.Fatalf("BYE toward the carrier ignores its route set:\n%s", bye)
	}
	s.WaitCalls(t, 0)
}

// TestUpdateAndInfoRelayed: UPDATE (with SDP) and INFO cross to the other leg.
func TestUpdateAndInfoRelayed(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc := p.carrier, p.cc
	ctx := ctx10(t)
	sess, _ := p.call(t, ctx)

	res, err := sess.Do(ctx, inDialog(sess, sip.UPDATE, "application/sdp", carrier.SDP()))
	if err != nil || res.StatusCode != 200 || !strings.Contains(string(res.Body()), "m=audio") {
		t.Fatalf("UPDATE: %v %v", res, err)
	}
	res, err = sess.Do(ctx, inDialog(sess, sip.INFO, "application/x-test", []byte("hello")))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO: %v %v", res, err)
	}
	if got := cc.Received(sip.UPDATE); len(got) != 1 {
		t.Fatalf("contact center got %d UPDATEs", len(got))
	}
	if got := cc.Received(sip.INFO); len(got) != 1 || string(got[0].Body()) != "hello" {
		t.Fatalf("contact center INFO: %v", got)
	}
	p.hangUp(t, ctx, sess)
}

// TestTLSVersions: TLS 1.2 is accepted by default (Genesys BYOC Cloud speaks
// nothing else); with min_version 1.3 a 1.2-only client is refused.
func TestTLSVersions(t *testing.T) {
	cc := sipua.New(t, "tls")
	dial := func(addr string, max uint16) error {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: max})
		if err == nil {
			c.Close()
		}
		return err
	}
	s12 := startSBC(t, sbc.Options{Transport: "tls", ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}})
	if err := dial(s12.Addr("carrier"), tls.VersionTLS12); err != nil {
		t.Fatalf("TLS 1.2 refused by default: %v", err)
	}
	if err := dial(s12.Addr("carrier"), tls.VersionTLS11); err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
	s13 := startSBC(t, sbc.Options{Transport: "tls", ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}, SIP: sbc.SIP{TLS: &sbc.TLS{MinVersion: "1.3"}}})
	if err := dial(s13.Addr("carrier"), tls.VersionTLS12); err == nil {
		t.Fatal("TLS 1.2 accepted with min_version 1.3")
	}
	if err := dial(s13.Addr("carrier"), tls.VersionTLS13); err != nil {
		t.Fatalf("TLS 1.3: %v", err)
	}
}

// TestDrain: once draining, new calls get 503; a call in progress is ended
// with BYE on both legs at the deadline.
func TestDrain(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc, s := p.carrier, p.cc, p.s
	p.call(t, ctx10(t))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	drained := make(chan struct{})
	go func() { s.App.SIP.Drain(ctx); close(drained) }()
	waitFor(t, "draining", s.App.SIP.Draining)
	_, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	wantRefused(t, err, 503, "new call while draining")
	<-drained
	waitBye(t, carrier)
	waitBye(t, cc)
	s.WaitCalls(t, 0)
}

// TestNoAckEndsTheCall: a caller that never acknowledges the 200 leaves no
// half call: after ack_timeout tonewall sends BYE to the contact center.
func TestNoAckEndsTheCall(t *testing.T) {
	cc := sipua.New(t, "udp")
	s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}, SIP: sbc.SIP{AckTimeout: time.Second}})
	got := rawRequest(t, s.Addr("carrier"), rawMsg("INVITE", "Content-Type: application/sdp\n", string(sipua.SDP(4000, "sendrecv"))))
	if got != "SIP/2.0 200 OK" {
		t.Fatalf("INVITE: %q", got)
	}
	waitBye(t, cc)
	s.WaitCalls(t, 0)
}

// TestDeadLegEndsTheCall: when the contact center no longer knows the
// dialog (481 to a re-INVITE), tonewall ends the call on both legs.
func TestDeadLegEndsTheCall(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc, s := p.carrier, p.cc, p.s
	ctx := ctx10(t)
	sess, _ := p.call(t, ctx)
	cc.ForgetDialogs()
	res, err := sess.Do(ctx, inDialog(sess, sip.INFO, "application/x-test", []byte("ping")))
	if err != nil || res.StatusCode != 408 {
		t.Fatalf("INFO to a dead leg: %v %v", res, err)
	}
	waitBye(t, carrier)
	s.WaitCalls(t, 0)
}
