package media

import (
	"net"
	"regexp"
	"testing"
	"time"
)

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
