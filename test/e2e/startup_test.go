package e2e

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// TestRequestsDuringStartup: INVITEs that reach the carrier listener while
// tonewall is still binding its other listeners are handled against the
// whole configuration, never refused as coming from no trunk. (They used
// to read the listeners and trunks while Run was still writing them: a
// 403 for a legitimate carrier, and a data race.) The INVITEs carry
// Require: timer, so an admitted one is answered 420 and makes no call.
func TestRequestsDuringStartup(t *testing.T) {
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	carrier := probe.LocalAddr().String()
	probe.Close()

	c, ra := rawConn(t, carrier)
	var mu sync.Mutex
	statuses := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // send until tonewall is up
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = c.WriteTo(rawDatagram(c, rawMsg("INVITE", "Require: timer\n", "")), ra)
			time.Sleep(200 * time.Microsecond)
		}
	})
	wg.Go(func() { // collect final responses until a quiet second after the sender stops
		buf := make([]byte, 4096)
		for {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				select {
				case <-stop:
					return
				default:
					continue
				}
			}
			line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
			if strings.HasPrefix(line, "SIP/2.0 1") {
				continue
			}
			mu.Lock()
			statuses[line]++
			mu.Unlock()
		}
	})
	cc := sipua.New(t, "udp")
	startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}, CarrierAddr: carrier})
	time.Sleep(50 * time.Millisecond) // a few more once it is up
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if statuses["SIP/2.0 420 Bad Extension"] == 0 {
		t.Fatalf("no INVITE was answered: %v", statuses)
	}
	for line, n := range statuses {
		if line != "SIP/2.0 420 Bad Extension" {
			t.Errorf("%d INVITEs answered %q during startup (all %v)", n, line, statuses)
		}
	}
}
