package main

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// relayBatch is the bare forwarder with recvmmsg/sendmmsg (x/net/ipv4
// ReadBatch/WriteBatch), to measure what batching buys per socket.
func (f *forwarder) relayBatch(from, to *net.UDPConn, dst netip.AddrPort) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		in, out := ipv4.NewPacketConn(from), ipv4.NewPacketConn(to)
		const n = 8
		msgs := make([]ipv4.Message, n)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, 1500)}
		}
		addr := net.UDPAddrFromAddrPort(dst)
		for {
			k, err := in.ReadBatch(msgs, 0)
			if err != nil {
				return
			}
			f.batches.Add(1)
			f.batched.Add(uint64(k))
			for i := range k {
				msgs[i].Buffers[0] = msgs[i].Buffers[0][:msgs[i].N]
				msgs[i].Addr = addr
			}
			_, _ = out.WriteBatch(msgs[:k], 0)
			for i := range k {
				msgs[i].Buffers[0] = msgs[i].Buffers[0][:1500]
			}
		}
	}()
}
