package main

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pion/rtp"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/prefetch"
)

// BenchmarkStageOpen is the capture stage with a window open, per 20 ms PCMU
// packet, without the relay: on the load test's speech or on digital
// silence, for one call (its state hot in cache) or for many taken in turn,
// as the relay meets them: 500 calls' state fits this machine's 2 MB L2,
// 5000 calls' does not, which is closer to the relay, whose sockets and
// crypto take the cache between one call's packets. Each packet is copied
// into its call's own buffer first, as the relay decrypts into one, since
// the stage writes its output over the payload. emit does nothing, so none
// of the relay's own path is counted.
//
//	go test -run '^$' -bench StageOpen ./test/load
func BenchmarkStageOpen(b *testing.B) {
	silence := make([]byte, 160)
	dtmf.EncodeUlaw(silence, make([]int16, 160))
	for _, audio := range []string{"silence", "speech"} {
		for _, calls := range []int{1, 500, 5000} {
			b.Run(fmt.Sprintf("%s/calls=%d", audio, calls), func(b *testing.B) {
				caps, err := newCaptures(options{stage: "open"})
				if err != nil {
					b.Fatal(err)
				}
				ctrls := make([]*capture.Controller, calls)
				pkts := make([]media.Packet, calls)
				bufs := make([][160]byte, calls)
				for i := range ctrls {
					id := fmt.Sprint("bench-", i)
					if ctrls[i], err = caps.svc.Attach(id, capture.Point{Policy: "api"}); err != nil {
						b.Fatal(err)
					}
					if _, err := caps.svc.Start(id, capture.Request{Fields: []string{"pan"}}); err != nil {
						b.Fatal(err)
					}
					pkts[i] = media.Packet{Header: rtp.Header{SequenceNumber: uint16(i)}, Codec: "PCMU", ClockRate: 8000}
				}
				// Packets meet the calls in an order unrelated to where
				// their state lies in memory, as in the relay, so the
				// hardware prefetchers cannot guess the next call's lines.
				order := rand.New(rand.NewPCG(1, 2)).Perm(calls)
				emit := func(*media.Packet) {}
				b.ReportAllocs()
				b.ResetTimer()
				for n := 0; n < b.N; n++ {
					i := order[n%calls]
					p := &pkts[i]
					p.Header.SequenceNumber++
					p.Header.Timestamp += 160
					in := silence
					if audio == "speech" {
						in = speechFrames[(n/calls+7*i)%len(speechFrames)]
					}
					p.Payload = bufs[i][:copy(bufs[i][:], in)]
					ctrls[i].Process(p, emit)
				}
			})
		}
	}
}

// BenchmarkStageRelayLike is the stage as the relay runs it, for tuning the
// prefetch in the lab rather than in the load test's noise: per packet the
// list the call's last packet left is run, the packet is decrypted (AES-GCM,
// the work the prefetch hides behind), then the stage runs and lists what
// the call's next packet will touch. 5,000 calls in a shuffled order, so
// each call's state is out of L2; prefetch=off skips the list.
//
//	go test -run '^$' -bench StageRelayLike ./test/load
func BenchmarkStageRelayLike(b *testing.B) {
	const calls = 5000
	for _, pf := range []bool{false, true} {
		b.Run(fmt.Sprintf("prefetch=%v", pf), func(b *testing.B) {
			caps, err := newCaptures(options{stage: "open"})
			if err != nil {
				b.Fatal(err)
			}
			ctrls := make([]*capture.Controller, calls)
			pkts := make([]media.Packet, calls)
			bufs := make([][160]byte, calls)
			lists := make([]prefetch.List, calls)
			for i := range ctrls {
				id := fmt.Sprint("bench-", i)
				if ctrls[i], err = caps.svc.Attach(id, capture.Point{Policy: "api"}); err != nil {
					b.Fatal(err)
				}
				if _, err := caps.svc.Start(id, capture.Request{Fields: []string{"pan"}}); err != nil {
					b.Fatal(err)
				}
				pkts[i] = media.Packet{Header: rtp.Header{SequenceNumber: uint16(i)}, Codec: "PCMU", ClockRate: 8000}
			}
			block, _ := aes.NewCipher(make([]byte, 16))
			gcm, _ := cipher.NewGCM(block)
			nonce := make([]byte, gcm.NonceSize())
			sealed := gcm.Seal(nil, nonce, speechFrames[0], nil)
			plain := make([]byte, 0, len(sealed))
			order := rand.New(rand.NewPCG(1, 2)).Perm(calls)
			emit := func(*media.Packet) {}
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				i := order[n%calls]
				if pf {
					lists[i].Run()
				}
				if _, err := gcm.Open(plain[:0], nonce, sealed, nil); err != nil {
					b.Fatal(err)
				}
				p := &pkts[i]
				p.Header.SequenceNumber++
				p.Header.Timestamp += 160
				p.Payload = bufs[i][:copy(bufs[i][:], speechFrames[(n/calls+7*i)%len(speechFrames)])]
				ctrls[i].Process(p, emit)
				lists[i].Reset()
				ctrls[i].NextPrefetch(&lists[i])
			}
		})
	}
}
