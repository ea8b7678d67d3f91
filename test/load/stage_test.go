package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"runtime"
	"runtime/debug"
	"testing"
	"text/template"

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

// BenchmarkStageRelayLike is the stage as the relay runs it, for tuning in
// the lab rather than in the load test's noise: per packet the prefetch
// list the call's last packet left is run, the packet is decrypted (AES-GCM,
// the work the prefetch hides behind), then the stage runs and lists what
// the call's next packet will touch; 5,000 calls in a shuffled order, so
// each call's state is out of L2. Variants: without the prefetch; and with
// "churn", unrelated library code run between packets (JSON, a regexp, a
// template: about 5 µs; its garbage is collected every 1,000 packets with
// the timer stopped, so that collections do not swamp the figure), standing for the kernel's and the relay's own work
// between two packets, which leaves neither the stage's code nor its data
// in L1. churn/stage=none is that work alone, so the stage's cost under
// churn is the difference: 1.6 µs, twice and more the churn-free cost, as in
// the relay's CPU profiles. Its runs take a minute or two.
//
//	go test -run '^$' -bench StageRelayLike ./test/load
func BenchmarkStageRelayLike(b *testing.B) {
	const calls = 5000
	for _, v := range []struct {
		name                   string
		prefetch, churn, stage bool
	}{
		{"prefetch=false", false, false, true},
		{"prefetch=true", true, false, true},
		{"churn/stage=none", true, true, false},
		{"churn/stage=open", true, true, true},
	} {
		b.Run(v.name, func(b *testing.B) {
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
			if v.churn { // churn allocates: collect outside the timer (below), not in it
				defer debug.SetGCPercent(debug.SetGCPercent(-1))
				runtime.GC()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				if v.churn {
					if n%1000 == 999 { // keep the heap small, so that it does not page in fresh memory
						b.StopTimer()
						runtime.GC()
						b.StartTimer()
					}
					churn()
				}
				i := order[n%calls]
				if v.prefetch {
					lists[i].Run()
				}
				if _, err := gcm.Open(plain[:0], nonce, sealed, nil); err != nil {
					b.Fatal(err)
				}
				p := &pkts[i]
				p.Header.SequenceNumber++
				p.Header.Timestamp += 160
				p.Payload = bufs[i][:copy(bufs[i][:], speechFrames[(n/calls+7*i)%len(speechFrames)])]
				if v.stage {
					ctrls[i].Process(p, emit)
					lists[i].Reset()
					ctrls[i].NextPrefetch(&lists[i])
				}
			}
		})
	}
}

// churn runs a spread of unrelated library code (see BenchmarkStageRelayLike).
func churn() {
	u, _ := url.Parse("https://user@example.com:8443/a/b?c=d&e=f#g")
	v := churnValue{"hello", []int{1, 2, 3}, map[string]float64{"x": 1.5, "y": 2}, u.String()}
	js, _ := json.Marshal(v)
	var w churnValue
	_ = json.Unmarshal(js, &w)
	_ = churnRe.FindStringSubmatch("xxabbbc123x")
	var buf bytes.Buffer
	_ = churnTpl.Execute(&buf, v.B)
}

type churnValue struct {
	A string
	B []int
	C map[string]float64
	D string
}

var (
	churnRe  = regexp.MustCompile(`a(b+)c[0-9]*x?`)
	churnTpl = template.Must(template.New("churn").Parse(`{{range .}}{{.}}-{{end}}`))
)
