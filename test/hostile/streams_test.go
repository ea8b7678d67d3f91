package hostile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

const (
	maxStreams       = 3
	maxStreamsPerKey = 2
)

// TestEventStreamCaps: one key past max_event_streams_per_key gets 429,
// any key past max_event_streams 503; tonewall holds no more streams than
// the cap, and a stream closed frees its place for anyone.
func TestEventStreamCaps(t *testing.T) {
	keys := []string{"key-one", "key-two", "key-three"}
	yaml := topology{transports: []string{"udp"}, sources: "127.0.0.2/32", target: "127.0.0.2:9"}.yaml() + fmt.Sprintf(`api:
  address: "127.0.0.1:0"
  max_event_streams: %d
  max_event_streams_per_key: %d
  keys: [{name: one, sha256: %s, role: agent}, {name: two, sha256: %s, role: agent}, {name: three, sha256: %s, role: agent}]
`, maxStreams, maxStreamsPerKey, sum(keys[0]), sum(keys[1]), sum(keys[2]))
	tw := start(t, yaml, 0)
	one1 := openStream(t, tw, keys[0], 200)
	openStream(t, tw, keys[0], 200)
	openStream(t, tw, keys[0], 429) // the key's cap
	openStream(t, tw, keys[1], 200) // the total's last place
	openStream(t, tw, keys[1], 503) // the key is under its cap, the total is not
	openStream(t, tw, keys[2], 503)
	if got := tw.metric(t, "tonewall_api_event_streams_open"); got != maxStreams {
		t.Fatalf("tonewall_api_event_streams_open = %.0f, want %d", got, maxStreams)
	}
	if got := tw.metric(t, "tonewall_api_event_streams_refused_total"); got != 3 {
		t.Fatalf("tonewall_api_event_streams_refused_total = %.0f, want 3", got)
	}
	one1()
	tw.waitMetric(t, "tonewall_api_event_streams_open", 3*time.Second, func(v float64) bool { return v == maxStreams-1 })
	openStream(t, tw, keys[2], 200) // the freed place, taken by another key
	openStream(t, tw, keys[2], 503)
}

// openStream opens GET /v1/events with key, wants the status code, and
// returns what closes the stream (it is closed when the test ends, too).
func openStream(t *testing.T, tw *tonewall, key string, want int) (close func()) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+tw.api+"/v1/events", nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	tr := &http.Transport{ResponseHeaderTimeout: 5 * time.Second}
	res, err := (&http.Client{Transport: tr}).Do(req)
	must(t, err)
	close = func() { _ = res.Body.Close(); tr.CloseIdleConnections() }
	t.Cleanup(close)
	if res.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		t.Fatalf("GET /v1/events with %s: %d %s, want %d", key, res.StatusCode, b, want)
	}
	return close
}

func sum(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}
