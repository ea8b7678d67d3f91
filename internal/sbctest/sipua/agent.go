package sipua

import (
	"cmp"
	"crypto/tls"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest"
)

// Options shape an agent.
type Options struct {
	Transport string      // udp (the default), tcp or tls
	Host      string      // the loopback address it binds; default 127.0.0.1
	User      string      // the user part its calls dial; default 5551000
	ClientTLS *tls.Config // what it dials TLS with; default: no verification
	// Quiet agents keep no requests and feed no channels: a load
	// generator's, whose calls outnumber any buffer.
	Quiet  bool
	Errorf func(format string, args ...any) // failures while answering; default: dropped
}

// Agent is a SIP user agent on sipgo. Unless Quiet, it records every
// request it receives and feeds its channels, each 512 deep: what a test
// leaves unread beyond that is dropped, never waited for.
type Agent struct {
	Addr    string                   // its SIP listener
	Phone   *sbctest.Phone           // its media: where its SDP points
	Dialogs *sipgo.DialogClientCache // the dialogs of the calls it places

	Answered      chan *sipgo.DialogServerSession // calls it answered 200
	Invites       chan *sip.Request               // initial INVITEs, on arrival
	Byes          chan *sip.Request
	Cancels       chan struct{} // an INVITE of ours was cancelled (sipgo answers the CANCEL itself)
	UnmatchedByes atomic.Int32  // BYEs that matched no dialog of ours

	o         Options
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	cli       *sipgo.Client
	ds        *sipgo.DialogServerCache
	closeConn func()
	serving   bool
	served    chan struct{} // closed when the serving goroutine returns
	closeOnce sync.Once
	closed    atomic.Bool   // set by Close: handlers still running expect errors
	stopped   chan struct{} // closed by Close
	forgetful atomic.Bool   // answer in-dialog requests 481, as after a restart

	mu                 sync.Mutex
	plan               func(req *sip.Request) Plan
	reqs               []*sip.Request
	responses          []int    // status codes of responses to our INVITEs, in order
	tags               []string // To tags of responses to our INVITEs, in order
	sentInvite         *sip.Request
	lastInviteResponse *sip.Response
}

// New starts an agent on transport tp for the test; it closes when the
// test ends, and its failures while answering fail the test.
func New(t sbctest.TB, tp string) *Agent {
	t.Helper()
	return NewWith(t, Options{Transport: tp})
}

// NewWith is New with options.
func NewWith(t sbctest.TB, o Options) *Agent {
	t.Helper()
	if o.Errorf == nil {
		o.Errorf = t.Errorf
	}
	a, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// Open starts an agent; Close stops it.
func Open(o Options) (*Agent, error) {
	o.Transport = cmp.Or(o.Transport, "udp")
	o.Host = cmp.Or(o.Host, "127.0.0.1")
	o.User = cmp.Or(o.User, "5551000")
	if o.ClientTLS == nil {
		o.ClientTLS = &tls.Config{InsecureSkipVerify: true}
	}
	if o.Errorf == nil {
		o.Errorf = func(string, ...any) {}
	}
	a := &Agent{o: o, served: make(chan struct{}), Answered: make(chan *sipgo.DialogServerSession, 512),
		Byes: make(chan *sip.Request, 512), Invites: make(chan *sip.Request, 512),
		Cancels: make(chan struct{}, 512), stopped: make(chan struct{})}
	// A moment of ringing: sipgo handles each datagram in its own goroutine, so
	// a 200 hard on the heels of a 180 can overtake it.
	a.plan = func(*sip.Request) Plan { return Plan{Ring: true, Delay: 30 * time.Millisecond} }
	if err := a.open(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *Agent) open() error {
	var err error
	if a.ua, err = sipgo.NewUA(sipgo.WithUserAgent("tonewall-test-"+a.o.Transport), sipgo.WithUserAgenTLSConfig(a.o.ClientTLS)); err != nil {
		return err
	}
	if a.srv, err = sipgo.NewServer(a.ua); err != nil {
		return err
	}
	serve, err := a.listen()
	if err != nil {
		return err
	}
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(a.o.Host)}
	if a.o.Transport == "udp" {
		opts = []sipgo.ClientOption{sipgo.WithClientConnectionAddr(a.Addr)}
	}
	if a.cli, err = sipgo.NewClient(a.ua, opts...); err != nil {
		return err
	}
	contact := sip.ContactHeader{Address: a.uri("agent", a.Addr)}
	a.Dialogs = sipgo.NewDialogClientCache(a.cli, contact)
	a.ds = sipgo.NewDialogServerCache(a.cli, contact)
	if a.Phone, err = sbctest.NewPhone(); err != nil {
		return err
	}
	a.handlers()
	a.serving = true
	serve() // after every field is set: the serving goroutine reads them
	return nil
}

// Close stops the agent: its listener, its transactions and its phone.
func (a *Agent) Close() {
	a.closeOnce.Do(func() {
		a.closed.Store(true)
		close(a.stopped)
		if a.closeConn != nil {
			a.closeConn()
		}
		if a.ua != nil {
			_ = a.ua.Close()
		}
		if a.serving {
			<-a.served
		}
		if a.Phone != nil {
			_ = a.Phone.Close()
		}
	})
}

// listen binds the agent's socket and returns the function that starts
// serving it.
func (a *Agent) listen() (serve func(), err error) {
	if a.o.Transport == "udp" {
		c, err := net.ListenPacket("udp", net.JoinHostPort(a.o.Host, "0"))
		if err != nil {
			return nil, err
		}
		_ = c.(*net.UDPConn).SetReadBuffer(8 << 20)
		a.Addr = c.LocalAddr().String()
		a.closeConn = func() { _ = c.Close() }
		return func() { go func() { defer close(a.served); _ = a.srv.ServeUDP(c) }() }, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(a.o.Host, "0"))
	if err != nil {
		return nil, err
	}
	a.Addr = ln.Addr().String()
	a.closeConn = func() { _ = ln.Close() }
	if a.o.Transport != "tls" {
		return func() { go func() { defer close(a.served); _ = a.srv.ServeTCP(ln) }() }, nil
	}
	cert, err := sbctest.ServerCert()
	if err != nil {
		return nil, err
	}
	ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	return func() { go func() { defer close(a.served); _ = a.srv.ServeTLS(ln) }() }, nil
}

// uri is sip:user@hostport, with the agent's transport unless UDP.
func (a *Agent) uri(user, hostport string) sip.Uri {
	host, ps, _ := net.SplitHostPort(hostport)
	port, _ := strconv.Atoi(ps)
	u := sip.Uri{Scheme: "sip", User: user, Host: host, Port: port}
	if a.o.Transport != "udp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", a.o.Transport)
	}
	return u
}

// SetPlan changes how the agent answers INVITEs.
func (a *Agent) SetPlan(f func(*sip.Request) Plan) {
	a.mu.Lock()
	a.plan = f
	a.mu.Unlock()
}

// ForgetDialogs makes the agent behave as if it had restarted.
func (a *Agent) ForgetDialogs() { a.forgetful.Store(true) }

// SDP is this agent's offer or answer: G.711 and telephone-event on its phone.
func (a *Agent) SDP() []byte { return SDP(a.Phone.Port(), "sendrecv") }

// SDP is an offer or answer for 127.0.0.1:port, PCMU, PCMA and
// telephone-event, in direction dir (sendrecv, sendonly, ...).
func SDP(port int, dir string) []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=" + dir + "\r\n")
}

// NextCall waits for the agent to answer a call.
func (a *Agent) NextCall(t sbctest.TB) *sipgo.DialogServerSession {
	t.Helper()
	select {
	case d := <-a.Answered:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no call reached the agent")
		return nil
	}
}
