package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest"
)

// rtpengine is Sipwise's rtpengine daemon (Debian's rtpengine-daemon),
// started as a child for one measurement, the reference the relay is held
// against: userspace forwarding only (--table=-1, no kernel module), on
// loopback, with its own port range, driven over its ng control protocol
// (bencode over UDP) with one offer and one answer per call. Its CPU time is
// read from /proc, so it is its process's alone, every thread counted.
type rtpengine struct {
	cmd    *exec.Cmd
	ng     *net.UDPConn // connected to its ng port
	dtmf   *net.UDPConn // with recrypt: where it would log DTMF events (none come)
	cookie int
}

// rtpengineBinary is where the daemon is installed, "" if it is not.
func rtpengineBinary() string {
	path, err := exec.LookPath("rtpengine")
	if err != nil {
		return ""
	}
	return path
}

// startRtpengine runs the daemon with its media ports in [portMin,
// portMax] and its ng control port at portMin-1 (out of the ephemeral
// range, where no other socket takes it by chance), its log (warnings and
// worse) on stderr, and waits until it answers a ping. With recrypt it
// decrypts and re-encrypts SRTP even where it could pass it through (see
// setupRtpengine).
func startRtpengine(portMin, portMax int, recrypt bool) (*rtpengine, error) {
	bin := rtpengineBinary()
	if bin == "" {
		return nil, errors.New("rtpengine is not installed (Debian package rtpengine-daemon)")
	}
	ng := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: portMin - 1}
	args := []string{"--config-file=none", "--foreground", "--log-stderr", "--log-level=4",
		"--table=-1", "--interface=127.0.0.1", "--listen-ng=" + ng.String(),
		fmt.Sprintf("--port-min=%d", portMin), fmt.Sprintf("--port-max=%d", portMax)}
	e := &rtpengine{}
	var err error
	if recrypt {
		if e.dtmf, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			return nil, err
		}
		args = append(args, "--dtmf-log-dest="+e.dtmf.LocalAddr().String())
	}
	e.cmd = exec.Command(bin, args...)
	e.cmd.Stdout, e.cmd.Stderr = os.Stderr, os.Stderr
	if err := e.cmd.Start(); err != nil {
		e.closeSockets()
		return nil, err
	}
	if e.ng, err = net.DialUDP("udp4", nil, ng); err == nil {
		err = e.awaitPing(10 * time.Second)
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// awaitPing pings the daemon until it answers, for up to limit.
func (e *rtpengine) awaitPing(limit time.Duration) error {
	for deadline := time.Now().Add(limit); ; {
		r, err := e.command(map[string]any{"command": "ping"}, 200*time.Millisecond)
		if err == nil && r["result"] == "pong" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rtpengine did not answer a ping on its ng port: %v", err)
		}
	}
}

// command sends one ng request and returns the response's dictionary; a
// request unanswered within wait is sent again with the same cookie (the
// daemon answers a retransmission from its cache), twice.
func (e *rtpengine) command(req map[string]any, wait time.Duration) (map[string]any, error) {
	e.cookie++
	cookie := strconv.Itoa(e.cookie)
	msg, err := bencode([]byte(cookie+" "), req)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 65536)
	for try := 0; try < 3; try++ {
		if _, err := e.ng.Write(msg); err != nil {
			return nil, err
		}
		_ = e.ng.SetReadDeadline(time.Now().Add(wait))
		for {
			n, err := e.ng.Read(buf)
			if err != nil {
				break // timed out (or refused while starting): send again
			}
			got, ok := bytes.CutPrefix(buf[:n], []byte(cookie+" "))
			if !ok {
				continue // a late answer to an earlier request
			}
			v, _, err := bdecode(got)
			if err != nil {
				return nil, err
			}
			d, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("ng response is a %T, not a dictionary", v)
			}
			if d["result"] == "error" {
				return nil, fmt.Errorf("rtpengine %s: %v", req["command"], d["error-reason"])
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("no answer from rtpengine to %s", req["command"])
}

// sdpCommand sends an offer or answer and returns rtpengine's SDP.
func (e *rtpengine) sdpCommand(req map[string]any) (string, error) {
	r, err := e.command(req, time.Second)
	if err != nil {
		return "", err
	}
	sdp, ok := r["sdp"].(string)
	if !ok {
		return "", fmt.Errorf("rtpengine's %s response has no SDP", req["command"])
	}
	return sdp, nil
}

// cpuTimes is the daemon's CPU time so far, all threads, and the user-space
// part of it (zero if it cannot be read).
func (e *rtpengine) cpuTimes() (total, user time.Duration) {
	total, user, _ = sbctest.ProcCPU(e.cmd.Process.Pid)
	return total, user
}

// Close stops the daemon: SIGTERM, then SIGKILL if it has not exited
// within 5 s.
func (e *rtpengine) Close() error {
	defer e.closeSockets()
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- e.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
	return nil
}

func (e *rtpengine) closeSockets() {
	for _, c := range []*net.UDPConn{e.ng, e.dtmf} {
		if c != nil {
			c.Close()
		}
	}
}

// setupRtpengine starts the daemon and sets up one call per phone pair:
// the carrier phone's SDP offered, the contact-center phone's answered.
//
// With SRTP both legs are SDES with the one suite. rtpengine 10.5 (Debian
// 12's) then copies each phone's key into its SDP toward the other phone
// and would pass SRTP through untouched; it has no flag to make it choose
// keys of its own (later versions' "recrypt"). What does force it to
// decrypt, authenticate and re-encrypt every packet in 10.5 is DTMF event
// logging (__determine_handler in its media_socket.c): so with SRTP it runs
// with --dtmf-log-dest, toward a socket of ours, which the phones' PCMU,
// carrying no RFC 4733 events, never makes it use. That is the same work
// per packet as with a key of its own per leg.
func setupRtpengine(o options, phones []endpoint) (*rtpengine, wiring, error) {
	calls := len(phones) / 2
	w := wiring{Peers: make([]endpoint, len(phones))}
	_, srtp := suites[o.srtp]
	lo, hi := o.rtpenginePortMin, o.rtpenginePortMin+4*calls+100
	if hi >= o.portMin && lo-1 <= o.portMin+4*calls+100 {
		return nil, w, fmt.Errorf("rtpengine's ports %d-%d overlap the relay's from %d: lower -rtpengine-port-min", lo, hi, o.portMin)
	}
	e, err := startRtpengine(lo, hi, srtp)
	if err != nil {
		return nil, w, err
	}
	return e, w, e.setupCalls(o, phones, w)
}

// setupCalls offers each carrier phone's SDP and answers with its
// contact-center phone's, and puts rtpengine's port and key toward each
// phone in w.
func (e *rtpengine) setupCalls(o options, phones []endpoint, w wiring) error {
	for i := range len(phones) / 2 {
		c, cc := phones[2*i], phones[2*i+1]
		call, from := fmt.Sprint("load-", i), fmt.Sprint("carrier-", i)
		toCC, err := e.sdpCommand(map[string]any{"command": "offer", "call-id": call, "from-tag": from,
			"sdp": string(sdp(c.Port, c.Key, o.srtp)), "ICE": "remove"})
		if err != nil {
			return err
		}
		toCarrier, err := e.sdpCommand(map[string]any{"command": "answer", "call-id": call, "from-tag": from,
			"to-tag": fmt.Sprint("cc-", i), "sdp": string(sdp(cc.Port, cc.Key, o.srtp))})
		if err != nil {
			return err
		}
		if w.Peers[2*i], err = peerOf(o, []byte(toCarrier)); err != nil {
			return err
		}
		if w.Peers[2*i+1], err = peerOf(o, []byte(toCC)); err != nil {
			return err
		}
	}
	return nil
}
