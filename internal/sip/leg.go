package sip

import (
	"context"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/media"
)

// Leg is one dialog of a call: tonewall's side of it.
type Leg struct {
	call     *Call
	trunk    *trunk
	listener *listener
	side     media.Side // carrier or contact center

	callID    string
	localTag  string
	localURI  sip.Uri // our From (UAC leg) or To (UAS leg) address
	remoteURI sip.Uri

	mu           sync.Mutex
	remoteTag    string
	remoteTarget sip.Uri      // the peer's Contact
	routeSet     []sip.Uri    // guarded by mu
	cseq         uint32       // our last CSeq on this dialog
	flow         string       // for a UAS leg on TCP/TLS: where its requests came from
	sentAck      *sip.Request // the last ACK sent on this leg, for 2xx retransmissions
}

// lastAck returns the ACK sent for the INVITE with this CSeq, if any.
func (l *Leg) lastAck(seq uint32) *sip.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sentAck == nil || l.sentAck.CSeq().SeqNo != seq {
		return nil
	}
	return l.sentAck.Clone()
}

// nextCSeq returns the CSeq for a new request on this dialog.
func (l *Leg) nextCSeq() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cseq++
	return l.cseq
}

// newRequest builds an in-dialog request per RFC 3261 12.2.1.1: the remote
// target as Request-URI, the route set as Route headers (loose routing).
func (l *Leg) newRequest(method sip.RequestMethod) *sip.Request {
	l.mu.Lock()
	target, routes, remoteTag, flow := l.remoteTarget, append([]sip.Uri(nil), l.routeSet...), l.remoteTag, l.flow
	l.mu.Unlock()
	req := sip.NewRequest(method, target)
	for _, r := range routes {
		req.AppendHeader(&sip.RouteHeader{Address: r})
	}
	from := &sip.FromHeader{Address: l.localURI, Params: sip.NewParams()}
	from.Params.Add("tag", l.localTag)
	to := &sip.ToHeader{Address: l.remoteURI, Params: sip.NewParams()}
	if remoteTag != "" {
		to.Params.Add("tag", remoteTag)
	}
	callID := sip.CallIDHeader(l.callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	var seq uint32
	if method != sip.ACK { // an ACK reuses its INVITE's number; the caller sets it
		seq = l.nextCSeq()
	}
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	if method != sip.BYE && method != sip.CANCEL && method != sip.ACK {
		req.AppendHeader(&sip.ContactHeader{Address: l.listener.contact()})
	}
	req.SetBody(nil) // Content-Length: 0 until a body is set; streams need it
	l.route(req, flow)
	return req
}

// route sets transport and destination: UDP leaves from the trunk's listener
// socket; a UAS leg on TCP/TLS answers on the connection its peer opened.
func (l *Leg) route(req *sip.Request, flow string) {
	req.SetTransport(l.listener.transport())
	if flow != "" {
		req.SetDestination(flow)
	}
	if l.listener.cfg.Transport == "udp" {
		a := l.listener.addr
		req.Laddr = sip.Addr{IP: a.Addr().AsSlice(), Port: int(a.Port())}
	}
}

// send runs a request as a client transaction and returns its final response.
func (l *Leg) send(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	cli := l.call.srv.cli
	tx, err := cli.TransactionRequest(ctx, req, l.addVia)
	if err != nil {
		return nil, err
	}
	l.call.srv.traffic.request(string(req.Method), dirOut)
	defer tx.Terminate()
	res, err := l.call.srv.finalResponse(ctx, tx, string(req.Method))
	if res != nil && (res.StatusCode == 401 || res.StatusCode == 407) && l.trunk.cfg.OutboundAuth != nil {
		return l.call.srv.authRetry(ctx, req, res, l.trunk)
	}
	return res, err
}

// finalResponse waits for a client transaction's final response, counting
// every response to its request of method. A transaction that ends without
// one returns neither a response nor, when it ended cleanly, an error.
func (s *Server) finalResponse(ctx context.Context, tx sip.ClientTransaction, method string) (*sip.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			s.traffic.response(method, res.StatusCode, dirIn)
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// addVia prepends tonewall's Via for this leg's listener.
func (l *Leg) addVia(_ *sipgo.Client, req *sip.Request) error {
	req.PrependHeader(l.listener.via())
	return nil
}

// update records what a 2xx or in-dialog request from the peer says of the
// dialog: its tag, target refresh (Contact).
func (l *Leg) setRemoteTarget(c *sip.ContactHeader) {
	if c == nil {
		return
	}
	l.mu.Lock()
	l.remoteTarget = c.Address
	l.mu.Unlock()
}
