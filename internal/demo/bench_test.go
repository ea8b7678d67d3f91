package demo

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCaptureEndToEnd: captures per second through a running tonewall
// with the local vault — open a window over the API, the caller keys a card
// as RFC 4733 events, wait until the API says tokenized.
func BenchmarkCaptureEndToEnd(b *testing.B) {
	ctx := context.Background()
	e, err := start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer e.stop()
	sess, err := e.carrier.Call(ctx, e.app.SIP.Addr("carrier").String(), e.carrier.SDP())
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	<-e.cc.Answered
	callID := e.app.Calls()[0].ID
	c := e.carrier.Phone
	c.To, c.TS, c.Pace = sdpAudio(sess.InviteResponse.Body()), 8000, -1 // no pacing: the keying is not what is measured
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		st, err := api(ctx, e.app, e.key, "POST", "/v1/calls/"+callID+"/captures", `{"fields":["pan","expiry","cvv"]}`)
		if err != nil {
			b.Fatal(err)
		}
		cid := st["id"].(string)
		for _, k := range testPAN + "#" + testExpiry + testCVV {
			_ = c.Key(byte(k))
		}
		for st["state"] != "tokenized" {
			if st["state"] == "failed" {
				b.Fatalf("capture failed: %v", st)
			}
			time.Sleep(time.Millisecond)
			if st, err = api(ctx, e.app, e.key, "GET", "/v1/calls/"+callID+"/captures/"+cid, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "captures/s")
}
