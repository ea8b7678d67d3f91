package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
	tsip "github.com/tonewall/tonewall/internal/sip"
)

// Trunk health over real sockets: the pings, routing around a target that
// stops answering, GET /v1/trunks, and OPTIONS while draining.

// healthKeys are an agent's, a supervisor's and an auditor's API keys.
func healthKeys() sbc.API {
	return sbc.API{Keys: []sbc.APIKey{sbc.Key("desk", "agent-key", "agent"), sbc.Key("floor", "super-key", "supervisor"),
		sbc.Key("books", "audit-key", "auditor")}}
}

// fastPings makes a trunk's targets go down after two missed pings 200 ms apart.
var fastPings = sbc.M{"interval": "200ms", "timeout": "150ms", "failures": 2, "successes": 1}

// outage stands in front of a UDP agent as its target address and relays
// datagrams both ways until cut, when it drops everything: a target gone
// dark, to pings and calls alike.
type outage struct {
	addr    string
	cut     atomic.Bool
	invites atomic.Int32 // INVITEs that arrived while cut
}

func newOutage(t *testing.T, to string) *outage {
	t.Helper()
	front, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	ua, err := net.ResolveUDPAddr("udp", to)
	must(t, err)
	back, err := net.DialUDP("udp", nil, ua)
	must(t, err)
	o := &outage{addr: front.LocalAddr().String()}
	var peer atomic.Pointer[net.Addr]
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // tonewall → agent
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			peer.Store(&from)
			switch {
			case !o.cut.Load():
				_, _ = back.Write(buf[:n])
			case strings.HasPrefix(string(buf[:n]), "INVITE "):
				o.invites.Add(1)
			}
		}
	}()
	go func() { // agent → tonewall
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			n, err := back.Read(buf)
			if err != nil {
				return
			}
			if to := peer.Load(); to != nil && !o.cut.Load() {
				_, _ = front.WriteTo(buf[:n], *to)
			}
		}
	}()
	t.Cleanup(func() {
		_ = front.Close()
		_ = back.Close()
		wg.Wait()
	})
	return o
}

// target is the health of one target as GET /v1/trunks gives it.
func target(t *testing.T, s *sbc.SBC, trunk, uri string) tsip.TargetHealth {
	t.Helper()
	code, body := apiGet(t, s, "audit-key", "/v1/trunks")
	var got struct{ Trunks []tsip.TrunkInfo }
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("GET /v1/trunks as auditor: %d %s", code, body)
	}
	for _, tr := range got.Trunks {
		for _, th := range tr.Targets {
			if tr.Name == trunk && th.URI == uri {
				return th
			}
		}
	}
	t.Fatalf("no target %s of %s in %s", uri, trunk, body)
	return tsip.TargetHealth{}
}

// waitTarget waits until the API shows the target up or down.
func waitTarget(t *testing.T, s *sbc.SBC, uri string, up bool) tsip.TargetHealth {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		th := target(t, s, "contact_center", uri)
		if th.Up == up {
			return th
		}
		if time.Now().After(deadline) {
			t.Fatalf("target %s: %+v, want up=%v", uri, th, up)
		}
	}
}

// waitAlivePing waits until the contact center's target uri is up and its
// last ping was answered.
func waitAlivePing(t *testing.T, s *sbc.SBC, uri string) tsip.TargetHealth {
	t.Helper()
	th := waitTarget(t, s, uri, true)
	for deadline := time.Now().Add(5 * time.Second); th.Last == nil || th.Last.Result != "alive"; th = target(t, s, "contact_center", uri) {
		if time.Now().After(deadline) {
			t.Fatalf("no alive ping of %s: %+v", uri, th)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return th
}

// upGauge is the target's line of tonewall_trunk_target_up in /metrics.
func upGauge(t *testing.T, s *sbc.SBC, uri string) string {
	t.Helper()
	_, body := apiGet(t, s, "", "/metrics")
	prefix := fmt.Sprintf("tonewall_trunk_target_up{target=%q,trunk=\"contact_center\"} ", uri)
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimPrefix(l, prefix)
		}
	}
	return "absent"
}

// wantChangeLogged checks that tonewall logged msg for the contact
// center's target uri.
func wantChangeLogged(t *testing.T, s *sbc.SBC, msg, uri string) {
	t.Helper()
	for _, e := range s.Logs.FilterMessage(msg).All() {
		if f := e.ContextMap(); f["trunk"] == "contact_center" && f["target"] == uri {
			return
		}
	}
	t.Errorf("no %q line for %s", msg, uri)
}

// TestTrunkTargetDownAndBack: the first contact-center target stops
// answering; its pings take it down, calls go straight to the second
// (not after invite_timeout), and when it answers again it is up and
// takes calls.
func TestTrunkTargetDownAndBack(t *testing.T) {
	carrier, first, second := sipua.New(t, "udp"), sipua.New(t, "udp"), sipua.New(t, "udp")
	front := newOutage(t, first.Addr)
	s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{front.addr, second.Addr}, Health: fastPings}, API: healthKeys()})
	firstURI := "sip:" + front.addr

	th := waitAlivePing(t, s, firstURI)
	if len(first.Received(sip.OPTIONS)) == 0 || th.Last.Code != 200 {
		t.Fatalf("the first target got %d OPTIONS; last ping %+v", len(first.Received(sip.OPTIONS)), th.Last)
	}

	front.cut.Store(true)
	th = waitTarget(t, s, firstURI, false)
	if th.Last == nil || th.Last.Result != "timeout" || th.Since == nil {
		t.Errorf("down target's health: %+v", th)
	}
	if g := upGauge(t, s, firstURI); g != "0" {
		t.Errorf("tonewall_trunk_target_up of the down target: %s", g)
	}
	wantChangeLogged(t, s, "trunk target down", firstURI)

	start := time.Now()
	sess, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	must(t, err)
	second.NextCall(t)
	if took := time.Since(start); took >= 1500*time.Millisecond {
		t.Errorf("the call took %v: the down target was tried first (invite_timeout 1.5s)", took)
	}
	if n := front.invites.Load(); n != 0 {
		t.Errorf("%d INVITEs were sent to the down target", n)
	}
	must(t, sess.Bye(ctx10(t)))
	waitBye(t, second)
	s.WaitCalls(t, 0)

	front.cut.Store(false)
	waitTarget(t, s, firstURI, true)
	if g := upGauge(t, s, firstURI); g != "1" {
		t.Errorf("tonewall_trunk_target_up of the target back: %s", g)
	}
	wantChangeLogged(t, s, "trunk target up", firstURI)
	sess, err = carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	must(t, err)
	first.NextCall(t)
	must(t, sess.Bye(ctx10(t)))
	waitBye(t, first)
	s.WaitCalls(t, 0)
}

// TestTargetDownFromCalls: a target that stops answering goes down on its
// calls' timeouts, without waiting for the pings (one an hour here): after
// failures calls that failed over to the second target after
// invite_timeout, the next call goes straight to the second.
func TestTargetDownFromCalls(t *testing.T) {
	carrier, first, second := sipua.New(t, "udp"), sipua.New(t, "udp"), sipua.New(t, "udp")
	front := newOutage(t, first.Addr)
	hourly := sbc.M{"interval": "1h", "timeout": "1s", "failures": 2, "successes": 1}
	s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{front.addr, second.Addr}, Health: hourly}, API: healthKeys()})
	firstURI := "sip:" + front.addr
	waitAlivePing(t, s, firstURI) // the one ping: answered before the cut

	front.cut.Store(true)
	call := func() time.Duration {
		start := time.Now()
		sess, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
		must(t, err)
		second.NextCall(t)
		took := time.Since(start)
		must(t, sess.Bye(ctx10(t)))
		waitBye(t, second)
		return took
	}
	for i := range 2 {
		if took := call(); took < 1500*time.Millisecond {
			t.Fatalf("call %d took %v: the dark target was not tried first", i, took)
		}
	}
	th := waitTarget(t, s, firstURI, false)
	if th.Last == nil || th.Last.Result != "alive" {
		t.Errorf("last_ping %+v: the one ping, alive, is still the last", th.Last)
	}
	wantChangeLogged(t, s, "trunk target down", firstURI)
	tried := front.invites.Load()
	if took := call(); took >= 1500*time.Millisecond {
		t.Errorf("the call after the target went down took %v", took)
	}
	if n := front.invites.Load(); n != tried {
		t.Errorf("%d more INVITEs reached the down target", n-tried)
	}
	s.WaitCalls(t, 0)
}

// TestTrunksPosture: GET /v1/trunks gives an auditor each trunk's posture
// as configured, and refuses an agent's and a supervisor's key.
func TestTrunksPosture(t *testing.T) {
	cc := sipua.New(t, "tls")
	s := startSBC(t, sbc.Options{Transport: "tls", API: healthKeys(), Capture: "always",
		Carrier:       sbc.Trunk{OutboundAuth: &sbc.Digest{Username: "u", Password: "p"}},
		ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}, SRTP: "required", KeyExchange: "dtls", Health: sbc.M{"ping": false}}})
	for _, key := range []string{"agent-key", "super-key"} {
		if code, body := apiGet(t, s, key, "/v1/trunks"); code != 403 {
			t.Fatalf("%s: %d %s, want 403", key, code, body)
		}
	}
	code, body := apiGet(t, s, "audit-key", "/v1/trunks")
	var got struct{ Trunks []tsip.TrunkInfo }
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Trunks) != 2 {
		t.Fatalf("auditor: %d %s", code, body)
	}
	carrier, ccTrunk := got.Trunks[0], got.Trunks[1]
	checks := []struct {
		what string
		ok   bool
	}{
		{"carrier name and role", carrier.Name == "carrier" && carrier.Role == "carrier"},
		{"tls listener", carrier.Listener.Transport == "tls" && carrier.Listener.Address == s.Addr("carrier")},
		{"tls posture", carrier.TLS != nil && carrier.TLS.MinVersion == "1.2" && !carrier.TLS.MutualTLS && !carrier.TLS.VerifyServer},
		{"carrier dtmf and auth", carrier.DTMF == "rfc4733" && carrier.OutboundAuth && !carrier.InboundAuth},
		{"carrier route", carrier.Route != nil && carrier.Route.To == "contact_center" && carrier.Route.Capture == "always"},
		{"carrier sources", len(carrier.Sources) == 1 && carrier.Sources[0] == "127.0.0.0/8"},
		{"carrier pings", carrier.Health.Ping && len(carrier.Targets) == 1 && carrier.Targets[0].Pinged},
		{"cc srtp", ccTrunk.SRTP.Mode == "required" && ccTrunk.SRTP.KeyExchange == "dtls" && len(ccTrunk.SRTP.Suites) > 0},
		{"cc route back", ccTrunk.Route != nil && ccTrunk.Route.To == "carrier" && ccTrunk.Route.Capture == "api"},
		{"no caps", ccTrunk.Limits.MaxCalls == 0 && carrier.Limits.CallsPerSecond == 0},
		{"cc pings off", !ccTrunk.Health.Ping && len(ccTrunk.Targets) == 1 && !ccTrunk.Targets[0].Pinged && ccTrunk.Targets[0].Up},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: wrong in %s", c.what, body)
		}
	}
	if n := len(cc.Received(sip.OPTIONS)); n != 0 {
		t.Errorf("a trunk with ping: false sent %d OPTIONS", n)
	}
}

// TestOptionsWhileDraining: draining, tonewall answers a trunk's OPTIONS
// 503 and /readyz 503, while a call in progress goes on.
func TestOptionsWhileDraining(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc, s := p.carrier, p.cc, p.s
	if got := rawRequest(t, s.Addr("carrier"), rawMsg("OPTIONS", "", "")); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS before draining: %q", got)
	}
	if code, body := apiGet(t, s, "", "/readyz"); code != 200 {
		t.Fatalf("/readyz before draining: %d %s", code, body)
	}
	sess, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	must(t, err)
	cc.NextCall(t)

	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drained := make(chan struct{})
	go func() { s.App.SIP.Drain(dctx); close(drained) }()
	for !s.App.SIP.Draining() {
		time.Sleep(5 * time.Millisecond)
	}
	if got := rawRequest(t, s.Addr("carrier"), rawMsg("OPTIONS", "", "")); got != "SIP/2.0 503 Service Unavailable" {
		t.Errorf("OPTIONS while draining: %q, want 503", got)
	}
	if code, body := apiGet(t, s, "", "/readyz"); code != 503 {
		t.Errorf("/readyz while draining: %d %s", code, body)
	}
	if s.App.ActiveCalls() != 1 {
		t.Errorf("%d calls while draining, want the one in progress", s.App.ActiveCalls())
	}
	must(t, sess.Bye(ctx10(t)))
	waitBye(t, cc)
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		t.Fatal("the drain did not end with the last call")
	}
}
