package vault

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// BenchmarkLocalTokenize measures one Tokenize on the embedded vault: token
// draw, AES-256-GCM seal, one bbolt write transaction (fsynced), CVV held in
// memory. It reports the p50 and p99 latency of single calls beside ns/op.
//
//	go test -run '^$' -bench Local -benchtime 3000x ./internal/vault
func BenchmarkLocalTokenize(b *testing.B) {
	l, err := NewLocal(LocalConfig{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-%d", i)
	}
	pan, exp, cvv := card.NewPAN([]byte(testPAN)), card.NewExpiry([]byte(testExpiry)), card.NewCVV([]byte(testCVV))
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := l.Tokenize(ctx, Request{CaptureID: ids[i], PAN: pan, Expiry: exp, CVV: cvv}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkLocalTokenizeParallel is Tokenize from many goroutines at once,
// as when many captures end together; bbolt serializes the writes.
func BenchmarkLocalTokenizeParallel(b *testing.B) {
	l, err := NewLocal(LocalConfig{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	var n atomicCounter
	b.RunParallel(func(pb *testing.PB) {
		pan, exp := card.NewPAN([]byte(testPAN)), card.NewExpiry([]byte(testExpiry))
		for pb.Next() {
			id := fmt.Sprintf("par-%d", n.next())
			if _, err := l.Tokenize(ctx, Request{CaptureID: id, PAN: pan, Expiry: exp}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkLocalDetokenize is one read transaction and one AES-GCM open.
func BenchmarkLocalDetokenize(b *testing.B) {
	l, err := NewLocal(LocalConfig{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	res, err := l.Tokenize(context.Background(), Request{CaptureID: "c", PAN: card.NewPAN([]byte(testPAN)), Expiry: card.NewExpiry([]byte(testExpiry))})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		pan, exp, err := l.Detokenize(context.Background(), res.Token)
		if err != nil {
			b.Fatal(err)
		}
		pan.Wipe()
		exp.Wipe()
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) }
