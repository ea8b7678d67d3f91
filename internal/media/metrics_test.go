package media

import (
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCollectorKeepsClosedSessions: the series sum open and closed
// sessions, so a counter does not fall back when a call ends.
func TestCollectorKeepsClosedSessions(t *testing.T) {
	m := newTestManager(t, Config{})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(m))
	s, err := m.NewSession("call-metrics", LegPolicy{}, LegPolicy{})
	require.NoError(t, err)
	c, cc, attacker := newPhone(t), newPhone(t), newPhone(t)
	toC, toCC := call(t, s, c, cc, c.sdp("0"), cc.sdp("0"))

	c.send(toC, hdr(0, 1, 160), []byte("voice"))
	cc.recv()
	cc.send(toCC, hdr(0, 7, 160), []byte("agent"))
	c.recv()
	attacker.send(toC, hdr(0, 1, 1), []byte("injected"))
	assert.Eventually(t, func() bool { return s.Stats(Carrier).WrongSource == 1 }, time.Second, time.Millisecond)

	packets := func(leg, dir string) float64 {
		return counter(t, reg, "tonewall_rtp_packets_total", map[string]string{"leg": leg, "direction": dir})
	}
	live := [4]float64{packets("carrier", "in"), packets("carrier", "out"), packets("contact_center", "in"), packets("contact_center", "out")}
	assert.Equal(t, [4]float64{1, 1, 1, 1}, live)
	require.NoError(t, s.Close())
	assert.Equal(t, live, [4]float64{packets("carrier", "in"), packets("carrier", "out"), packets("contact_center", "in"), packets("contact_center", "out")},
		"a closed session's packets stay counted")
	assert.Equal(t, 1.0, counter(t, reg, "tonewall_rtp_dropped_total", map[string]string{"leg": "carrier", "reason": "wrong_source"}))
	assert.Equal(t, 0.0, counter(t, reg, "tonewall_srtp_auth_failures_total", map[string]string{"leg": "carrier"}))
}

// counter reads one series of reg, chosen by its label values.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if mf.GetName() == name && labelsAre(mt.GetLabel(), labels) {
				return mt.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func labelsAre(got []*dto.LabelPair, want map[string]string) bool {
	for _, lp := range got {
		if want[lp.GetName()] != lp.GetValue() {
			return false
		}
	}
	return len(got) == len(want)
}

// TestRelayDropsOversizedDatagramsWhole: a datagram larger than the relay
// reads is counted too_large and dropped, not cut to fit and passed on; one
// of exactly the largest size goes on to the usual checks.
func TestRelayDropsOversizedDatagramsWhole(t *testing.T) {
	m := newTestManager(t, Config{})
	s, err := m.NewSession("call-oversized", LegPolicy{}, LegPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	toCC, err := s.Offer(Carrier, sdpAt("127.0.0.1", 9, "RTP/AVP", "0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Answer(ContactCenter, sdpAt("127.0.0.1", 11, "RTP/AVP", "0")); err != nil {
		t.Fatal(err)
	}
	port := regexp.MustCompile(`m=audio (\d+) `).FindSubmatch(toCC)
	if port == nil {
		t.Fatalf("no audio port in %s", toCC)
	}
	c, err := net.Dial("udp", "127.0.0.1:"+string(port[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []int{bufSize + 1, 9000, bufSize} {
		pkt := make([]byte, n)
		pkt[0] = 0x80 // RTP version 2
		if _, err := c.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for st := s.Stats(ContactCenter); st.TooLarge+st.WrongSource+st.Dropped+st.Malformed < 3; st = s.Stats(ContactCenter) {
		if time.Now().After(deadline) {
			t.Fatalf("not every datagram accounted for: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
	if st := s.Stats(ContactCenter); st.TooLarge != 2 || st.Received != 0 {
		t.Errorf("%+v: want the two oversized datagrams too_large and none received", st)
	}
}
