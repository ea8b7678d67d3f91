package demo

import (
	"context"
	"net"
	"strconv"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// agent is a plain SIP user agent (sipgo) with one RTP socket: the carrier's
// caller or the contact center.
type agent struct {
	ua    *sipgo.UserAgent
	srv   *sipgo.Server
	cli   *sipgo.Client
	conn  net.PacketConn
	addr  string
	rtp   *net.UDPConn
	dc    *sipgo.DialogClientCache
	ds    *sipgo.DialogServerCache
	mu    sync.Mutex
	infos []*sip.Request // INFO requests received
	reqs  int            // SIP requests received
	pkts  []rtp.Packet   // RTP received
	calls chan struct{}
}

func newAgent() (*agent, error) {
	a := &agent{calls: make(chan struct{}, 4)}
	var err error
	if a.ua, err = sipgo.NewUA(); err != nil {
		return nil, err
	}
	if a.srv, err = sipgo.NewServer(a.ua); err != nil {
		return nil, err
	}
	if a.conn, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	a.addr = a.conn.LocalAddr().String()
	if a.cli, err = sipgo.NewClient(a.ua, sipgo.WithClientConnectionAddr(a.addr)); err != nil {
		return nil, err
	}
	if a.rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		return nil, err
	}
	host, ps, _ := net.SplitHostPort(a.addr)
	port, _ := strconv.Atoi(ps)
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: port}}
	a.dc = sipgo.NewDialogClientCache(a.cli, contact)
	a.ds = sipgo.NewDialogServerCache(a.cli, contact)
	a.handlers()
	go func() { _ = a.srv.ServeUDP(a.conn) }()
	go a.recordRTP()
	return a, nil
}

func (a *agent) close() {
	_ = a.conn.Close()
	_ = a.rtp.Close()
	_ = a.ua.Close()
}

func (a *agent) count() {
	a.mu.Lock()
	a.reqs++
	a.mu.Unlock()
}

func (a *agent) handlers() {
	a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		a.count()
		d, err := a.ds.ReadInvite(req, tx)
		if err != nil {
			return
		}
		defer d.Close()
		_ = d.Respond(180, "Ringing", nil)
		if d.Respond(200, "OK", a.sdp(), sip.NewHeader("Content-Type", "application/sdp")) != nil {
			return
		}
		a.calls <- struct{}{}
		<-d.Context().Done()
	})
	a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { a.count(); _ = a.ds.ReadAck(req, tx) })
	a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		a.count()
		if a.ds.ReadBye(req, tx) != nil && a.dc.ReadBye(req, tx) != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	a.srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) {
		a.mu.Lock()
		a.reqs++
		a.infos = append(a.infos, req)
		a.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
}

func (a *agent) sdp() []byte {
	port := a.rtp.LocalAddr().(*net.UDPAddr).Port
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n")
}

func (a *agent) recordRTP() {
	buf := make([]byte, 1500)
	for {
		n, _, err := a.rtp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		var p rtp.Packet
		if p.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
			a.mu.Lock()
			a.pkts = append(a.pkts, p)
			a.mu.Unlock()
		}
	}
}

// call places a call to tonewall and returns the answered dialog.
func (a *agent) call(ctx context.Context, to string) (*sipgo.DialogClientSession, error) {
	host, ps, _ := net.SplitHostPort(to)
	port, _ := strconv.Atoi(ps)
	s, err := a.dc.Invite(ctx, sip.Uri{Scheme: "sip", User: "5551000", Host: host, Port: port}, a.sdp(),
		sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	if err := s.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		return nil, err
	}
	return s, s.Ack(ctx)
}

// snapshot returns counts of what the agent received so far.
func (a *agent) snapshot() (reqs int, pkts []rtp.Packet, infos []*sip.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reqs, append([]rtp.Packet(nil), a.pkts...), append([]*sip.Request(nil), a.infos...)
}
