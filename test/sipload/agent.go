package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest"
)

// agent is a sipgo user agent that answers every INVITE (180, 200) and can
// place calls.
type agent struct {
	tp    string
	ua    *sipgo.UserAgent
	srv   *sipgo.Server
	cli   *sipgo.Client
	addr  string
	dc    *sipgo.DialogClientCache
	ds    *sipgo.DialogServerCache
	close func()
	sdp   []byte
}

func newAgent(tp string) (*agent, error) {
	ua, err := sipgo.NewUA(sipgo.WithUserAgenTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		return nil, err
	}
	a := &agent{tp: tp, ua: ua}
	if a.srv, err = sipgo.NewServer(ua); err != nil {
		return nil, err
	}
	serve, err := a.listen()
	if err != nil {
		return nil, err
	}
	opts := []sipgo.ClientOption{sipgo.WithClientHostname("127.0.0.1")}
	if tp == "udp" {
		opts = append(opts, sipgo.WithClientConnectionAddr(a.addr))
	}
	if a.cli, err = sipgo.NewClient(ua, opts...); err != nil {
		return nil, err
	}
	host, ps, _ := net.SplitHostPort(a.addr)
	port, _ := strconv.Atoi(ps)
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: port}}
	if tp != "udp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", tp)
	}
	a.dc = sipgo.NewDialogClientCache(a.cli, contact)
	a.ds = sipgo.NewDialogServerCache(a.cli, contact)
	a.sdp = []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 9 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")
	a.handlers()
	serve()
	return a, nil
}

func (a *agent) listen() (func(), error) {
	if a.tp == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		_ = c.(*net.UDPConn).SetReadBuffer(8 << 20)
		a.addr = c.LocalAddr().String()
		a.close = func() { _ = c.Close(); _ = a.ua.Close() }
		return func() { go func() { _ = a.srv.ServeUDP(c) }() }, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a.addr = ln.Addr().String()
	cert, err := sbctest.SelfSigned()
	if err != nil {
		return nil, err
	}
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	a.close = func() { _ = ln.Close(); _ = a.ua.Close() }
	return func() { go func() { _ = a.srv.ServeTLS(tl) }() }, nil
}

func (a *agent) handlers() {
	a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		d, err := a.ds.ReadInvite(req, tx)
		if err != nil {
			return
		}
		defer d.Close()
		_ = d.Respond(180, "Ringing", nil)
		if err := d.Respond(200, "OK", a.sdp, sip.NewHeader("Content-Type", "application/sdp")); err != nil {
			return
		}
		<-d.Context().Done()
	})
	a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = a.ds.ReadAck(req, tx) })
	a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if a.ds.ReadBye(req, tx) != nil && a.dc.ReadBye(req, tx) != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
}

func (a *agent) recipient(to string) sip.Uri {
	host, ps, _ := net.SplitHostPort(to)
	port, _ := strconv.Atoi(ps)
	u := sip.Uri{Scheme: "sip", User: "5551000", Host: host, Port: port}
	if a.tp != "udp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", a.tp)
	}
	return u
}

// dial places one call and returns it once acknowledged.
func (a *agent) dial(ctx context.Context, to string) (*sipgo.DialogClientSession, error) {
	s, err := a.dc.Invite(ctx, a.recipient(to), a.sdp, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	if err := s.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Ack(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// fullCall is INVITE → 180 → 200 → ACK → BYE.
func (a *agent) fullCall(to string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := a.dial(ctx, to)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Bye(ctx)
}

// holdCalls sets up n calls and leaves them up.
func (a *agent) holdCalls(to string, n int) ([]*sipgo.DialogClientSession, error) {
	out := make([]*sipgo.DialogClientSession, 0, n)
	sem := make(chan struct{}, 64)
	res := make(chan *sipgo.DialogClientSession, n)
	errc := make(chan error, n)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := a.dial(ctx, to)
			if err != nil {
				errc <- err
				return
			}
			res <- s
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case s := <-res:
			out = append(out, s)
		case err := <-errc:
			return out, fmt.Errorf("holding calls: %w", err)
		}
	}
	return out, nil
}

func (a *agent) hangup(ss []*sipgo.DialogClientSession) {
	var errs error
	for _, s := range ss {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = errors.Join(errs, s.Bye(ctx))
		cancel()
		s.Close()
	}
	_ = errs
}
