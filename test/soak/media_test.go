package soak

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest"
)

const frame = 20 * time.Millisecond

// ear counts what a phone receives, keeping nothing.
type ear struct {
	rtp    atomic.Int64 // RTP packets
	events atomic.Int64 // of them, RFC 4733 telephone-events (payload type 101)
	done   chan struct{}
}

// listen counts what p receives until p is closed.
func listen(p *sbctest.Phone) *ear {
	e := &ear{done: make(chan struct{})}
	go func() {
		defer close(e.done)
		buf := make([]byte, 1500)
		for {
			n, _, err := p.Conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 {
				e.rtp.Add(1)
				if buf[1]&0x7f == 101 {
					e.events.Add(1)
				}
			}
		}
	}()
	return e
}

// talk sends d of 20 ms silence frames, paced in real time.
func talk(p *sbctest.Phone, d time.Duration) error {
	p.Pace = frame
	return p.Silence(int(d / frame))
}

// pump sends silence from p until stop is closed; done closes after.
func pump(p *sbctest.Phone, stop <-chan struct{}) (done <-chan struct{}) {
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if talk(p, frame) != nil {
				return
			}
		}
	}()
	return out
}

// mediaAddr is the audio address an SDP body gives.
func mediaAddr(body []byte) (*net.UDPAddr, error) {
	var ip net.IP
	port := 0
	for _, l := range strings.Split(string(body), "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			ip = net.ParseIP(v)
		}
		if v, ok := strings.CutPrefix(l, "m=audio "); ok {
			p, _, _ := strings.Cut(v, " ")
			port, _ = strconv.Atoi(p)
		}
	}
	if ip == nil || port == 0 {
		return nil, errors.New("no audio address in the SDP")
	}
	return &net.UDPAddr{IP: ip, Port: port}, nil
}
