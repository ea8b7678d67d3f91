package soak

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// callHeader numbers a soak call on its INVITE; tonewall passes it to the
// contact center (header_pass X-Genesys-*), whose plan finds the call by it.
const callHeader = "X-Genesys-Soak-Call"

// settle bounds every wait for the other side of a call.
const settle = 5 * time.Second

// call is one call of the soak while it is placed.
type call struct {
	n            int64
	plan         plan
	carrier, cc  *sbctest.Phone                  // the caller's media, and the contact center's for this call
	heardCarrier *ear                            // what the caller heard
	heardCC      *ear                            // what the contact center heard
	invite       chan *sip.Request               // the INVITE as it reached the contact center
	dialog       chan *sipgo.DialogServerSession // the contact center's dialog, once answered
}

func (k *soak) newCall(p plan) (*call, error) {
	c := &call{n: k.next.Add(1), plan: p, invite: make(chan *sip.Request, 1),
		dialog: make(chan *sipgo.DialogServerSession, 1)}
	var err error
	if c.carrier, err = sbctest.NewPhone(); err != nil {
		return nil, err
	}
	if c.cc, err = sbctest.NewPhone(); err != nil {
		_ = c.carrier.Close()
		return nil, err
	}
	c.heardCarrier, c.heardCC = listen(c.carrier), listen(c.cc)
	k.live.Store(c.n, c)
	return c, nil
}

// forget closes the call's phones and waits for their listeners.
func (k *soak) forget(c *call) {
	k.live.Delete(c.n)
	_ = c.carrier.Close()
	_ = c.cc.Close()
	<-c.heardCarrier.done
	<-c.heardCC.done
}

func (c *call) header() sip.Header { return sip.NewHeader(callHeader, strconv.FormatInt(c.n, 10)) }

func (c *call) offer() []byte { return sipua.SDP(c.carrier.Port(), "sendrecv") }

// answer is the contact center's plan: ring, then answer on the call's
// own phone; a call the caller will cancel rings well past its CANCEL.
func (k *soak) answer(req *sip.Request) sipua.Plan {
	c := k.lookup(req)
	if c == nil {
		k.strays.Add(1)
		return sipua.Plan{Code: 486}
	}
	select {
	case c.invite <- req:
	default:
	}
	p := sipua.Plan{Ring: true, Delay: 30 * time.Millisecond, SDP: sipua.SDP(c.cc.Port(), "sendrecv"),
		OnAnswer: func(d *sipgo.DialogServerSession) {
			select {
			case c.dialog <- d:
			default:
			}
		}}
	if c.plan.end == endCancel {
		p.Delay = c.plan.cancel + 2*time.Second
	}
	return p
}

func (k *soak) lookup(req *sip.Request) *call {
	h := req.GetHeader(callHeader)
	if h == nil {
		return nil
	}
	n, err := strconv.ParseInt(h.Value(), 10, 64)
	if err != nil {
		return nil
	}
	c, _ := k.live.Load(n)
	cl, _ := c.(*call)
	return cl
}

// place runs one call and counts how it ended.
func (k *soak) place(ctx context.Context, p plan, calls, caps *tally) {
	c, err := k.newCall(p)
	if err != nil {
		calls.fail("phones", err)
		return
	}
	defer k.forget(c)
	switch p.end {
	case endCancel:
		err = k.cancelled(ctx, c)
	case endNoAck:
		err = k.noAck(ctx, c)
	default:
		err = k.answered(ctx, c, caps)
	}
	if err != nil {
		calls.fail(p.end, err)
		return
	}
	calls.add(p.end)
}

// cancelled: the caller gives up while the contact center rings; the
// CANCEL must end the call with 487.
func (k *soak) cancelled(ctx context.Context, c *call) error {
	sess, err := k.invite(ctx, c)
	if err != nil {
		return err
	}
	defer sess.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.invite:
			time.Sleep(c.plan.cancel)
		case <-time.After(settle):
		}
		cancel()
	}()
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err == nil {
		_ = sess.Ack(context.Background())
		_ = sess.Bye(context.Background())
		return errors.New("answered although the contact center rings past the CANCEL")
	}
	if r := sess.InviteResponse; r == nil || r.StatusCode != 487 {
		return fmt.Errorf("after CANCEL: final response %v, want 487", r)
	}
	return nil
}

// invite sends the call's INVITE to tonewall's carrier listener.
func (k *soak) invite(ctx context.Context, c *call) (*sipgo.DialogClientSession, error) {
	return k.carrier.Dialogs.Invite(ctx, k.carrierURI(), c.offer(), sip.NewHeader("Content-Type", "application/sdp"), c.header())
}

// noAck: the caller takes the 200 and is never heard from again; after
// sip.ack_timeout tonewall must end the contact center's leg.
func (k *soak) noAck(ctx context.Context, c *call) error {
	sess, err := k.invite(ctx, c)
	if err != nil {
		return err
	}
	defer sess.Close()
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	dlg, err := c.answeredDialog()
	if err != nil {
		return err
	}
	select {
	case <-dlg.Context().Done():
		return nil
	case <-time.After(k.ackTimeout + settle):
		return errors.New("the contact center's leg outlived the caller's missing ACK")
	}
}

// answeredDialog is the contact center's dialog of an answered call.
func (c *call) answeredDialog() (*sipgo.DialogServerSession, error) {
	select {
	case d := <-c.dialog:
		return d, nil
	case <-time.After(settle):
		return nil, errors.New("no answered dialog at the contact center")
	}
}

// answered: the call is up with media both ways, perhaps a capture window,
// then one side hangs up; the other must see the BYE.
func (k *soak) answered(ctx context.Context, c *call, caps *tally) error {
	sess, err := k.carrier.Call(ctx, k.s.Addr("carrier"), c.offer(), c.header())
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	defer sess.Close()
	dlg, callID, err := c.connect(sess)
	if err != nil {
		_ = sess.Bye(ctx)
		return err
	}
	stop := make(chan struct{})
	pumped := pump(c.cc, stop)
	err = k.converse(c, callID, caps)
	hungUp := k.hangUp(ctx, c, sess, dlg)
	close(stop)
	<-pumped
	return errors.Join(err, hungUp, c.heard())
}

// connect points both phones at tonewall, from its SDP on each leg, and
// returns the contact center's dialog and tonewall's call id.
func (c *call) connect(sess *sipgo.DialogClientSession) (*sipgo.DialogServerSession, string, error) {
	dlg, err := c.answeredDialog()
	if err != nil {
		return nil, "", err
	}
	inv := <-c.invite // there before the dialog
	if c.carrier.To, err = mediaAddr(sess.InviteResponse.Body()); err != nil {
		return nil, "", fmt.Errorf("carrier leg: %w", err)
	}
	if c.cc.To, err = mediaAddr(inv.Body()); err != nil {
		return nil, "", fmt.Errorf("contact-center leg: %w", err)
	}
	id := inv.GetHeader("X-Tonewall-Call-ID")
	if id == nil {
		return nil, "", errors.New("no X-Tonewall-Call-ID on the INVITE to the contact center")
	}
	return dlg, id.Value(), nil
}

// converse is the caller's side of an answered call: talk, and around a
// capture window if the plan has one.
func (k *soak) converse(c *call, callID string, caps *tally) error {
	if err := talk(c.carrier, c.plan.hold); err != nil || c.plan.capture == "" {
		return err
	}
	if err := k.capture(c, callID); err != nil {
		caps.fail(c.plan.capture, err)
		return err
	}
	caps.add(c.plan.capture + keying(c.plan.inband))
	if c.plan.capture == capCallerBye || c.plan.capture == capCCBye {
		return nil
	}
	return talk(c.carrier, c.plan.hold)
}

func keying(inband bool) string {
	if inband {
		return ", in-band"
	}
	return ", RFC 4733"
}

// hangUp ends the call from the side the plan says and waits for the
// other side's BYE.
func (k *soak) hangUp(ctx context.Context, c *call, sess *sipgo.DialogClientSession, dlg *sipgo.DialogServerSession) error {
	hanger, other, side := sess.Bye, dlg.Context(), "contact center"
	if c.plan.end == endCCBye {
		hanger, other, side = dlg.Bye, sess.Context(), "caller"
	}
	if err := hanger(ctx); err != nil {
		return fmt.Errorf("BYE: %w", err)
	}
	select {
	case <-other.Done():
		return nil
	case <-time.After(settle):
		return fmt.Errorf("no BYE reached the %s", side)
	}
}

// heard checks that media crossed tonewall both ways, and that no RFC
// 4733 event reached the contact center: the caller keys only inside
// capture windows.
func (c *call) heard() error {
	var errs []error
	if c.heardCarrier.rtp.Load() == 0 {
		errs = append(errs, errors.New("the caller heard no RTP"))
	}
	if c.heardCC.rtp.Load() == 0 {
		errs = append(errs, errors.New("the contact center heard no RTP"))
	}
	if n := c.heardCC.events.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("%d telephone-events reached the contact center", n))
	}
	return errors.Join(errs...)
}

// carrierURI is the request URI of a call to tonewall's carrier listener.
func (k *soak) carrierURI() sip.Uri {
	addr := k.s.App.SIP.Addr("carrier")
	return sip.Uri{Scheme: "sip", User: "5551000", Host: addr.Addr().String(), Port: int(addr.Port())}
}
