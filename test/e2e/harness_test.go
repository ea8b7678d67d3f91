package e2e

import (
	"cmp"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// startSBC runs tonewall until the test ends, on o with the e2e defaults
// for what o leaves zero: short INVITE, ring and drain timeouts, the
// pass-listed headers, TLS peers not verified, and a carrier trunk whose
// target answers nothing.
func startSBC(t *testing.T, o sbc.Options) *sbc.SBC {
	t.Helper()
	return sbc.Start(t, e2eDefaults(o))
}

// e2eDefaults is o with the e2e defaults startSBC gives what o leaves zero.
func e2eDefaults(o sbc.Options) sbc.Options {
	sip := &o.SIP
	sip.InviteTimeout = cmp.Or(sip.InviteTimeout, 1500*time.Millisecond)
	sip.RingTimeout = cmp.Or(sip.RingTimeout, 20*time.Second)
	sip.DrainTimeout = cmp.Or(sip.DrainTimeout, 2*time.Second)
	if sip.HeaderPass == nil {
		sip.HeaderPass = []string{"User-to-User", "X-Genesys-*"}
	}
	if sip.TLS == nil {
		sip.TLS = &sbc.TLS{}
	}
	if len(o.Carrier.Targets) == 0 {
		o.Carrier.Targets = []string{"127.0.0.1:9"}
	}
	return o
}

// deadTarget is a UDP address where a socket is bound but nothing answers.
func deadTarget(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c.LocalAddr().String()
}

func splitHostPort(t *testing.T, hp string) (string, int) {
	h, p, err := net.SplitHostPort(hp)
	must(t, err)
	n, err := strconv.Atoi(p)
	must(t, err)
	return h, n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// peers is a carrier and a contact center, agents on one transport, with
// tonewall between them.
type peers struct {
	s           *sbc.SBC
	carrier, cc *sipua.Agent
}

// newPeers starts the two agents, then tonewall on o with its transport
// tp and the contact center as its contact-center target.
func newPeers(t *testing.T, tp string, o sbc.Options) *peers {
	t.Helper()
	p := &peers{carrier: sipua.New(t, tp), cc: sipua.New(t, tp)}
	o.Transport = tp
	o.ContactCenter.Targets = append(o.ContactCenter.Targets, p.cc.Addr)
	p.s = startSBC(t, o)
	return p
}

// call places the carrier's call through tonewall and waits until the
// contact center answered it; the call is closed when the test ends.
func (p *peers) call(t *testing.T, ctx context.Context, hdrs ...sip.Header) (*sipgo.DialogClientSession, *sipgo.DialogServerSession) {
	t.Helper()
	sess, err := p.carrier.Call(ctx, p.s.Addr("carrier"), p.carrier.SDP(), hdrs...)
	return sess, p.answered(t, sess, err)
}

// answered fails the test if the carrier's call failed with err, else
// waits until the contact center answered it; the call is closed when the
// test ends.
func (p *peers) answered(t *testing.T, sess *sipgo.DialogClientSession, err error) *sipgo.DialogServerSession {
	t.Helper()
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return p.cc.NextCall(t)
}

// hangUp ends the call with the carrier's BYE and waits until tonewall
// holds no call.
func (p *peers) hangUp(t *testing.T, ctx context.Context, sess *sipgo.DialogClientSession) {
	t.Helper()
	must(t, sess.Bye(ctx))
	p.s.WaitCalls(t, 0)
}

// inDialog is a request of method within the carrier's dialog sess,
// carrying body of type ctype.
func inDialog(sess *sipgo.DialogClientSession, method sip.RequestMethod, ctype string, body []byte) *sip.Request {
	req := sip.NewRequest(method, sess.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	req.SetBody(body)
	return req
}
