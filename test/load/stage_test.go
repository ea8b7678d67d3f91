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
				c := newBenchCalls(b, calls)
				emit := media.EmitFunc(func(*media.Packet) {})
				b.ReportAllocs()
				b.ResetTimer()
				for n := 0; n < b.N; n++ {
					i := c.order[n%calls]
					in := silence
					if audio == "speech" {
						in = c.speech(n, i)
					}
					c.ctrls[i].Process(c.packet(i, in), emit)
				}
			})
		}
	}
}

// BenchmarkStageRelayLike is the stage as the relay runs it, for tuning in
// the lab rather than in the load test's noise: per packet the packet is
// decrypted (AES-GCM), then the stage runs; 5,000 calls in a shuffled
// order, so each call's state is out of L2. The "churn" variants run
// unrelated library code between packets (JSON, a regexp, a template:
// about 5 µs; its garbage is collected every 1,000 packets with the timer
// stopped, so that collections do not swamp the figure), standing for the
// kernel's and the relay's own work between two packets, which leaves
// neither the stage's code nor its data in L1. churn/stage=none is that
// work alone, so the stage's cost under churn is the difference. Its runs
// take a minute or two.
//
//	go test -run '^$' -bench StageRelayLike ./test/load
func BenchmarkStageRelayLike(b *testing.B) {
	const calls = 5000
	for _, v := range []struct {
		name         string
		churn, stage bool
	}{
		{"stage=open", false, true},
		{"churn/stage=none", true, false},
		{"churn/stage=open", true, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			c := newBenchCalls(b, calls)
			block, _ := aes.NewCipher(make([]byte, 16))
			gcm, _ := cipher.NewGCM(block)
			nonce := make([]byte, gcm.NonceSize())
			sealed := gcm.Seal(nil, nonce, speechFrames[0], nil)
			plain := make([]byte, 0, len(sealed))
			emit := media.EmitFunc(func(*media.Packet) {})
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
				i := c.order[n%calls]
				if _, err := gcm.Open(plain[:0], nonce, sealed, nil); err != nil {
					b.Fatal(err)
				}
				p := c.packet(i, c.speech(n, i))
				if v.stage {
					c.ctrls[i].Process(p, emit)
				}
			}
		})
	}
}

// benchCalls are calls with a capture window open for the stage
// benchmarks: each call's controller, its packet and the buffer the payload
// is copied into (as the relay decrypts into one: the stage writes its
// output over the payload), and the order packets meet the calls in,
// unrelated to where their state lies in memory, as in the relay, so that
// the hardware prefetchers cannot guess the next call's lines.
type benchCalls struct {
	ctrls []*capture.Controller
	pkts  []media.Packet
	bufs  [][160]byte
	order []int
}

func newBenchCalls(b *testing.B, calls int) *benchCalls {
	caps, err := newCaptures(options{stage: "open"})
	if err != nil {
		b.Fatal(err)
	}
	c := &benchCalls{ctrls: make([]*capture.Controller, calls), pkts: make([]media.Packet, calls),
		bufs: make([][160]byte, calls), order: rand.New(rand.NewPCG(1, 2)).Perm(calls)}
	for i := range calls {
		id := fmt.Sprint("bench-", i)
		if c.ctrls[i], err = caps.svc.Attach(id, capture.Point{Policy: "api"}); err != nil {
			b.Fatal(err)
		}
		if _, err := caps.svc.Start(id, capture.Request{Fields: []string{"pan"}}); err != nil {
			b.Fatal(err)
		}
		c.pkts[i] = media.Packet{Header: rtp.Header{SequenceNumber: uint16(i)}, Codec: "PCMU", ClockRate: 8000}
	}
	return c
}

// speech is the frame of the load test's speech call i sends as the n-th
// packet of the benchmark.
func (c *benchCalls) speech(n, i int) []byte {
	return speechFrames[(n/len(c.ctrls)+7*i)%len(speechFrames)]
}

// packet is call i's next packet, with in copied into its buffer.
func (c *benchCalls) packet(i int, in []byte) *media.Packet {
	p := &c.pkts[i]
	p.Header.SequenceNumber++
	p.Header.Timestamp += 160
	p.Payload = c.bufs[i][:copy(c.bufs[i][:], in)]
	return p
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
