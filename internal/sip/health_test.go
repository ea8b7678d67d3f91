package sip

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tonewall/tonewall/internal/config"
)

func TestHealthConfigInheritsAndChecks(t *testing.T) {
	yaml := strings.Replace(handlerYAML, "  unknown_sources: reject", "  unknown_sources: reject\n  health: {interval: 10s, failures: 2}", 1)
	yaml = strings.Replace(yaml, `targets: ["sip:198.51.100.1"]}`, `targets: ["sip:198.51.100.1"], health: {timeout: 500ms, successes: 3}}`, 1)
	yaml = strings.Replace(yaml, `targets: ["sip:192.0.2.1"]}`, `targets: ["sip:192.0.2.1"], health: {ping: false}}`, 1)
	s := newTestServer(t, yaml)
	carrier, cc := s.table().trunks[0].cfg.Health, s.table().trunks[1].cfg.Health
	if carrier.pings() {
		t.Error("ping: false on the carrier still pings")
	}
	want := Health{Interval: 10 * time.Second, Timeout: 500 * time.Millisecond, Failures: 2, Successes: 3}
	if !cc.pings() || cc.Interval != want.Interval || cc.Timeout != want.Timeout || cc.Failures != want.Failures || cc.Successes != want.Successes {
		t.Errorf("the contact center's health %+v, want %+v pinging", cc, want)
	}
	def := newTestServer(t, handlerYAML).table().trunks[0].cfg.Health
	if !def.pings() || def.Interval != 30*time.Second || def.Timeout != 2*time.Second || def.Failures != 3 || def.Successes != 1 {
		t.Errorf("defaults %+v", def)
	}

	for key, h := range map[string]Health{
		"sip.health.timeout":   {Interval: time.Second, Timeout: 2 * time.Second},
		"sip.health.interval":  {Interval: -time.Second},
		"sip.health.failures":  {Failures: -1},
		"sip.health.successes": {Successes: -1},
	} {
		err := h.validate("sip.health")
		if fe, ok := err.(*config.FieldError); !ok || fe.Path != key {
			t.Errorf("%+v: %v, want an error at %s", h, err, key)
		}
	}
}

// scripted is a ping that answers what the test sets for each target URI.
type scripted struct {
	mu  sync.Mutex
	res map[string]pingResult
	n   map[string]int // pings sent, by target
}

func (p *scripted) set(target string, r pingResult) {
	p.mu.Lock()
	p.res[target] = r
	p.mu.Unlock()
}

func (p *scripted) ping(_ context.Context, t *trunk, i int) pingResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.res[t.cfg.Targets[i]]
	r.at = time.Now()
	p.n[t.cfg.Targets[i]]++
	return r
}

func (p *scripted) count(target string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[target]
}

func pingedTrunk(name string, h Health, targets ...string) *trunk {
	on := true
	h.Ping = &on
	return &trunk{cfg: Trunk{Name: name, Targets: targets, Health: h}}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

// A target goes down after failures pings in a row without an alive
// answer, and back up after successes alive answers; each change is
// logged once and shows in the gauge, every ping in the counter.
func TestHealthTargetDownAndBack(t *testing.T) {
	p := &scripted{res: map[string]pingResult{}, n: map[string]int{}}
	alive, refused := pingResult{code: 200, rtt: time.Millisecond}, pingResult{code: 503}
	p.set("sip:a", alive)
	p.set("sip:b", alive)
	core, logs := observer.New(zap.InfoLevel)
	m := newHealthMetrics(prometheus.NewRegistry())
	h := newHealth(p.ping, m, zap.New(core))
	cc := pingedTrunk("cc", Health{Interval: 2 * time.Millisecond, Timeout: time.Millisecond, Failures: 3, Successes: 2}, "sip:a", "sip:b")
	ctx, stop := context.WithCancel(context.Background())
	h.start(ctx, []*trunk{cc})
	defer func() { stop(); h.wait() }()
	gauge := func(target string) float64 { return value(t, m.up.WithLabelValues("cc", target)) }

	eventually(t, "a few pings of a", func() bool { return p.count("sip:a") >= 3 })
	if !h.up("cc", "sip:a") || gauge("sip:a") != 1 || logs.Len() != 0 {
		t.Fatalf("an answering target: up %v, gauge %v, %d log lines", h.up("cc", "sip:a"), gauge("sip:a"), logs.Len())
	}

	p.set("sip:a", refused)
	eventually(t, "a down", func() bool { return !h.up("cc", "sip:a") })
	if gauge("sip:a") != 0 || !h.anyUp(cc) {
		t.Errorf("a down: gauge %v, anyUp %v", gauge("sip:a"), h.anyUp(cc))
	}
	if value(t, m.pings.WithLabelValues("cc", "sip:a", "unavailable")) < 3 {
		t.Error("fewer than failures unavailable pings counted before down")
	}
	snap := h.snapshot(cc)
	if !snap[0].Pinged || snap[0].Up || snap[0].Last == nil || snap[0].Last.Code != 503 || snap[0].Last.Result != "unavailable" || !snap[1].Up {
		t.Errorf("snapshot %+v %+v", snap[0], snap[1])
	}

	p.set("sip:a", alive)
	eventually(t, "a back up", func() bool { return h.up("cc", "sip:a") })
	if gauge("sip:a") != 1 {
		t.Error("gauge still 0 after a came back")
	}
	downs, ups := logs.FilterMessage("trunk target down").All(), logs.FilterMessage("trunk target up").All()
	if len(downs) != 1 || len(ups) != 1 || downs[0].ContextMap()["target"] != "sip:a" || downs[0].ContextMap()["trunk"] != "cc" {
		t.Errorf("log: %d down, %d up lines: %v", len(downs), len(ups), logs.All())
	}
}

// sync, as a reload calls it: a target still named keeps its state under
// a new trunk table; one dropped, or whose trunk turned pings off, loses
// its state and series and counts as up.
func TestHealthSyncKeepsStateByName(t *testing.T) {
	p := &scripted{res: map[string]pingResult{}, n: map[string]int{}}
	p.set("sip:a", pingResult{err: "timeout"})
	p.set("sip:b", pingResult{code: 200})
	reg := prometheus.NewRegistry()
	m := newHealthMetrics(reg)
	h := newHealth(p.ping, m, zap.NewNop())
	hc := Health{Interval: 2 * time.Millisecond, Timeout: time.Millisecond, Failures: 1, Successes: 1}
	ctx, stop := context.WithCancel(context.Background())
	h.start(ctx, []*trunk{pingedTrunk("cc", hc, "sip:a", "sip:b")})
	defer func() { stop(); h.wait() }()
	eventually(t, "a down", func() bool { return !h.up("cc", "sip:a") })

	reloaded := pingedTrunk("cc", hc, "sip:b", "sip:a")
	h.sync([]*trunk{reloaded})
	if h.up("cc", "sip:a") {
		t.Fatal("a reloaded trunk forgot that its target is down")
	}
	before := p.count("sip:a")
	eventually(t, "the new pinger pinging a", func() bool { return p.count("sip:a") > before })

	off := pingedTrunk("cc", hc, "sip:a")
	*off.cfg.Health.Ping = false
	h.sync([]*trunk{off})
	if !h.up("cc", "sip:a") {
		t.Error("a target whose trunk turned pings off still counts as down")
	}
	if n := seriesCount(t, reg, "tonewall_trunk_target_up"); n != 0 {
		t.Errorf("%d up series left after every target stopped being pinged", n)
	}
}

func seriesCount(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// The OPTIONS itself: out of dialog, from the trunk's listener, to the
// target as configured; its outcome by what came back.
func TestPingOptionsRequest(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	cc := s.table().trunks[1]
	peer := newPeer(s, answerWith(200))
	r := s.ping(context.Background(), cc, 0)
	if r.code != 200 || !r.alive() || r.rtt <= 0 {
		t.Fatalf("ping answered 200: %+v", r)
	}
	sent := peer.requests()
	if len(sent) != 1 {
		t.Fatalf("%d requests sent", len(sent))
	}
	req := sent[0]
	if req.Method != sip.OPTIONS || req.Recipient.Host != "198.51.100.1" || req.To().Address.Host != "198.51.100.1" {
		t.Errorf("not an OPTIONS to the target:\n%s", req)
	}
	if v := req.Via(); v == nil || v.Port != 5070 || v.Transport != "UDP" {
		t.Errorf("Via %v, want the contact center's listener (udp 5070)", v)
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "" || req.CSeq().MethodName != sip.OPTIONS || req.GetHeader("User-Agent") == nil {
		t.Errorf("not an out-of-dialog OPTIONS of tonewall's:\n%s", req)
	}

	newPeer(s, answerWith(503))
	if r := s.ping(context.Background(), cc, 0); r.alive() || r.result() != "unavailable" {
		t.Errorf("503 counted %+v alive", r)
	}
	newPeer(s, answerWith(405))
	if r := s.ping(context.Background(), cc, 0); !r.alive() {
		t.Errorf("405 (a stack that does not do OPTIONS) counted not alive: %+v", r)
	}
	s.cli.TxRequester = noTransport{}
	if r := s.ping(context.Background(), cc, 0); r.result() != "transport" {
		t.Errorf("no transport: %+v", r)
	}
	s.cli.TxRequester = &siptest.ClientTxRequesterResponder{OnRequest: func(*sip.Request, *siptest.ClientTxResponder) {}}
	cc.cfg.Health.Timeout = 50 * time.Millisecond
	if r := s.ping(context.Background(), cc, 0); r.result() != "timeout" {
		t.Errorf("no answer: %+v", r)
	}
}

// Routing skips a down target while another is up, and tries every
// target in order when all are down.
func TestHandlerInviteSkipsDownTargets(t *testing.T) {
	yaml := strings.Replace(handlerYAML, `targets: ["sip:198.51.100.1"]`, `targets: ["sip:198.51.100.1", "sip:198.51.100.2"]`, 1)
	s := newTestServer(t, yaml)
	markDown := func(target string) {
		s.health.mu.Lock()
		s.health.targets[targetKey{"contact_center", target}] = &targetState{up: false}
		s.health.mu.Unlock()
	}
	hosts := func(p *peer) []string {
		var out []string
		for _, r := range p.requests() {
			out = append(out, r.Recipient.Host)
		}
		return out
	}

	markDown("sip:198.51.100.1")
	cc := newPeer(s, answerWith(486))
	wantStatus(t, only(t, handle(t, s, "carrier", s.onInvite, fromPeer(t, "INVITE", carrierSrc))), 486)
	if got := hosts(cc); len(got) != 1 || got[0] != "198.51.100.2" {
		t.Fatalf("with the first target down, INVITEs went to %v", got)
	}

	markDown("sip:198.51.100.2")
	cc = newPeer(s, answerWith(503))
	wantStatus(t, only(t, handle(t, s, "carrier", s.onInvite, fromPeer(t, "INVITE", carrierSrc))), 503)
	if got := hosts(cc); len(got) != 2 || got[0] != "198.51.100.1" || got[1] != "198.51.100.2" {
		t.Fatalf("with every target down, INVITEs went to %v, want both in order", got)
	}
}

func TestHandlerOptionsWhileDraining(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	s.draining.Store(true)
	res := only(t, handle(t, s, "carrier", s.onOptions, fromPeer(t, "OPTIONS", carrierSrc)))
	wantStatus(t, res, 503)
	wantHeader(t, res, "Retry-After", "7")
	// A stranger is still a stranger.
	wantStatus(t, only(t, handle(t, s, "carrier", s.onOptions, fromPeer(t, "OPTIONS", ccSrc))), 403)
	// A call being drained keeps its keepalives answered.
	confirmedCall(t, s, answerWith(200))
	wantStatus(t, only(t, handle(t, s, "carrier", s.onOptions, inDialog(t, "OPTIONS"))), 200)
}

// endedTx is a client transaction that ended cleanly without a final
// response, as sipgo's does when terminated from elsewhere.
type endedTx struct{ done chan struct{} }

func (endedTx) Terminate()                             {}
func (endedTx) OnTerminate(sip.FnTxTerminate) bool     { return false }
func (e endedTx) Done() <-chan struct{}                { return e.done }
func (endedTx) Err() error                             { return nil }
func (endedTx) Responses() <-chan *sip.Response        { return nil }
func (endedTx) OnRetransmission(sip.FnTxResponse) bool { return false }

type endsAtOnce struct{}

func (endsAtOnce) Request(context.Context, *sip.Request) (sip.ClientTransaction, error) {
	done := make(chan struct{})
	close(done)
	return endedTx{done}, nil
}

// A transaction that ends with neither a response nor an error is a
// failed ping, and a BYE without an answer, not a crash.
func TestTransactionEndedWithoutResponse(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	s.cli.TxRequester = endsAtOnce{}
	if r := s.ping(context.Background(), s.table().trunks[1], 0); r.alive() || r.result() != "transport" {
		t.Errorf("ping: %+v", r)
	}
	c, _ := confirmedCall(t, s, answerWith(200))
	s.cli.TxRequester = endsAtOnce{}
	c.b.trunk.cfg.OutboundAuth = &Digest{Username: "u", Password: "p"}
	if res, err := c.b.send(context.Background(), c.b.newRequest(sip.BYE)); res != nil || err != nil {
		t.Errorf("send: %v %v", res, err)
	}
}

// Calls count as pings: a pinged target whose INVITEs time out goes down
// after failures of them, before its next ping, and one that answers a
// call (a provisional is enough) comes back; a target not pinged is not
// watched, since nothing would bring it back.
func TestHealthObservesCalls(t *testing.T) {
	p := &scripted{res: map[string]pingResult{}, n: map[string]int{}}
	p.set("sip:a", pingResult{code: 200})
	core, logs := observer.New(zap.InfoLevel)
	m := newHealthMetrics(prometheus.NewRegistry())
	h := newHealth(p.ping, m, zap.New(core))
	cc := pingedTrunk("cc", Health{Interval: time.Hour, Timeout: time.Second, Failures: 2, Successes: 1}, "sip:a")
	off := pingedTrunk("off", Health{Interval: time.Hour, Timeout: time.Second, Failures: 1, Successes: 1}, "sip:z")
	*off.cfg.Health.Ping = false
	ctx, stop := context.WithCancel(context.Background())
	h.start(ctx, []*trunk{cc, off})
	defer func() { stop(); h.wait() }()
	eventually(t, "the first ping's outcome", func() bool { return h.snapshot(cc)[0].Last != nil })

	timeout := pingResult{at: time.Now(), err: "timeout"}
	h.observe(cc, 0, timeout)
	h.observe(cc, 0, pingResult{at: time.Now(), code: 180}) // answered: the streak starts again
	h.observe(cc, 0, timeout)
	if !h.up("cc", "sip:a") {
		t.Fatal("down after two timeouts that were not in a row")
	}
	h.observe(cc, 0, pingResult{at: time.Now(), code: 503})
	if h.up("cc", "sip:a") || value(t, m.up.WithLabelValues("cc", "sip:a")) != 0 {
		t.Fatal("still up after a timeout and a 503 in a row")
	}
	h.observe(cc, 0, pingResult{at: time.Now(), code: 486})
	if !h.up("cc", "sip:a") {
		t.Fatal("still down after the target answered a call")
	}
	if n := p.count("sip:a"); n != 1 {
		t.Errorf("%d pings: the calls' outcomes were not what moved the target", n)
	}
	changes := logs.All()
	if len(changes) != 2 || changes[0].ContextMap()["by"] != byCall || changes[1].ContextMap()["by"] != byCall {
		t.Errorf("log: %v", changes)
	}
	if snap := h.snapshot(cc); snap[0].Last == nil || snap[0].Last.Code != 200 {
		t.Errorf("last_ping %+v: a call's outcome is not a ping", snap[0].Last)
	}

	h.observe(off, 0, timeout)
	if !h.up("off", "sip:z") {
		t.Error("a target not pinged went down on a call's timeout")
	}
}
