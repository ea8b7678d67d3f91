package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

func bindFails(errno syscall.Errno) func(netip.AddrPort) (*net.UDPConn, error) {
	return func(netip.AddrPort) (*net.UDPConn, error) {
		return nil, &net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("socket", errno)}
	}
}

// TestPortAllocReportsDescriptorLimit: out of file descriptors is not "no
// free rtp port": the real cause is wrapped, answered 503 and counted.
func TestPortAllocReportsDescriptorLimit(t *testing.T) {
	m := newTestManager(t, Config{})
	m.pool.listen = bindFails(syscall.EMFILE)
	_, err := m.pool.alloc(false)
	var se *SDPError
	if !errors.Is(err, syscall.EMFILE) || errors.Is(err, ErrPortsExhausted) || !errors.As(err, &se) || se.Code != 503 {
		t.Fatalf("alloc under EMFILE: %v", err)
	}
	if got := m.PortErrors(); got != 1 {
		t.Fatalf("PortErrors = %d, want 1", got)
	}
	if got := m.PortsInUse(); got != 0 {
		t.Fatalf("PortsInUse = %d after a failed alloc", got)
	}
}

// TestPortAllocSkipsTakenPorts: a port another process holds is skipped,
// not counted as an error; when every port is taken the pool is exhausted.
func TestPortAllocSkipsTakenPorts(t *testing.T) {
	m := newTestManager(t, Config{})
	m.pool.listen = bindFails(syscall.EADDRINUSE)
	if _, err := m.pool.alloc(true); !errors.Is(err, ErrPortsExhausted) {
		t.Fatalf("alloc with every port taken: %v", err)
	}
	if got := m.PortErrors(); got != 0 {
		t.Fatalf("PortErrors = %d for taken ports, want 0", got)
	}
	if got := m.PortsExhausted(); got != 1 {
		t.Fatalf("PortsExhausted = %d after one refusal, want 1", got)
	}
	taken := 0
	m.pool.listen = func(ap netip.AddrPort) (*net.UDPConn, error) {
		if taken++; taken == 1 {
			return bindFails(syscall.EADDRINUSE)(ap)
		}
		return listenUDP(ap)
	}
	m.pool.drain = 0
	b, err := m.pool.alloc(true)
	if err != nil {
		t.Fatalf("alloc after one taken port: %v", err)
	}
	m.pool.release(b)
}
