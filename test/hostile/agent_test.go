package hostile

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// agent is a sipgo user agent on one UDP socket: as the contact center it
// answers every INVITE 200 and counts them by the dialled user; as a
// carrier it places calls.
type agent struct {
	ua   *sipgo.UserAgent
	cli  *sipgo.Client
	addr string
	dc   *sipgo.DialogClientCache
	ds   *sipgo.DialogServerCache
	done chan struct{} // closed when the test ends: answered calls let go
	mu   sync.Mutex
	got  map[string]int // INVITEs received, by Request-URI user
}

// newAgent serves a UDP socket on host until the test ends.
func newAgent(t *testing.T, host string) *agent {
	t.Helper()
	ua, err := sipgo.NewUA()
	must(t, err)
	srv, err := sipgo.NewServer(ua)
	must(t, err)
	c := udpFrom(t, host)
	a := &agent{ua: ua, addr: c.LocalAddr().String(), done: make(chan struct{}), got: map[string]int{}}
	a.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientConnectionAddr(a.addr))
	must(t, err)
	port, _ := strconv.Atoi(a.addr[len(host)+1:])
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: port}}
	a.dc = sipgo.NewDialogClientCache(a.cli, contact)
	a.ds = sipgo.NewDialogServerCache(a.cli, contact)
	srv.OnInvite(a.answer)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = a.ds.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if a.ds.ReadBye(req, tx) != nil && a.dc.ReadBye(req, tx) != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.ServeUDP(c) }()
	t.Cleanup(func() { close(a.done); _ = c.Close(); _ = ua.Close(); <-served })
	return a
}

func (a *agent) answer(req *sip.Request, tx sip.ServerTransaction) {
	a.mu.Lock()
	a.got[req.Recipient.User]++
	a.mu.Unlock()
	d, err := a.ds.ReadInvite(req, tx)
	if err != nil {
		return
	}
	defer d.Close()
	if d.Respond(200, "OK", []byte(offer), sip.NewHeader("Content-Type", "application/sdp")) != nil {
		return
	}
	select { // a BYE, or the end of the test
	case <-d.Context().Done():
	case <-a.done:
	}
}

// invites is the number of INVITEs that reached the agent for user.
func (a *agent) invites(user string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got[user]
}

// call places a whole call to user at to: INVITE, 200, ACK, BYE.
func (a *agent) call(to, user string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host, ps, _ := net.SplitHostPort(to)
	port, _ := strconv.Atoi(ps)
	s, err := a.dc.Invite(ctx, sip.Uri{Scheme: "sip", User: user, Host: host, Port: port}, []byte(offer),
		sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		return err
	}
	if err := s.Ack(ctx); err != nil {
		return err
	}
	return s.Bye(ctx)
}
