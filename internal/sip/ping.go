package sip

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ping sends one OPTIONS to target i of t from the trunk's listener, as its
// calls leave, and waits for the final answer until the trunk's health
// timeout.
func (s *Server) ping(ctx context.Context, t *trunk, i int) pingResult {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Health.Timeout)
	defer cancel()
	req := s.options(t.listener, t.targets[i])
	start := time.Now()
	tx, err := s.cli.TransactionRequest(ctx, req, func(_ *sipgo.Client, r *sip.Request) error {
		r.PrependHeader(t.listener.via())
		return nil
	})
	if err != nil {
		return pingResult{at: start, err: pingTransport}
	}
	s.traffic.request(string(sip.OPTIONS), dirOut)
	defer tx.Terminate()
	res, _ := s.finalResponse(ctx, tx, string(sip.OPTIONS))
	switch {
	case res != nil:
		return pingResult{at: start, code: res.StatusCode, rtt: time.Since(start)}
	case ctx.Err() != nil:
		return pingResult{at: start, err: pingTimeout}
	}
	return pingResult{at: start, err: pingTransport}
}

// options is an out-of-dialog OPTIONS toward target from listener l.
func (s *Server) options(l *listener, target sip.Uri) *sip.Request {
	req := sip.NewRequest(sip.OPTIONS, *target.Clone())
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "tonewall", Host: l.advertise.Host, Port: l.advertise.Port},
		Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	callID := sip.CallIDHeader("ping-" + newID() + "@tonewall")
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: *target.Clone(), Params: sip.NewParams()})
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	req.AppendHeader(&mf)
	req.AppendHeader(&sip.ContactHeader{Address: l.contact()})
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	s.addUserAgent(req)
	req.SetBody(nil) // Content-Length: 0; streams need it
	req.SetTransport(l.transport())
	if l.cfg.Transport == "udp" {
		req.Laddr = sip.Addr{IP: l.addr.Addr().AsSlice(), Port: int(l.addr.Port())}
	}
	return req
}
