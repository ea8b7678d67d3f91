package capture

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Webhook delivers each capture result to a URL, signed: header
// Tonewall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
// under the shared secret. A receiver recomputes it and rejects stale t.
type Webhook struct {
	URL        string        `yaml:"url"`         // https, or http to loopback; empty: no webhook
	SecretFile string        `yaml:"secret_file"` // file holding the HMAC secret
	Timeout    time.Duration `yaml:"timeout"`     // per attempt; default 5s
	Attempts   int           `yaml:"attempts"`    // default 5, backoff doubling from 500ms
	secret     []byte
}

// load reads the secret; called by Config.Validate when a URL is set.
func (w *Webhook) load() error {
	if w.URL == "" {
		return nil
	}
	if !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://127.0.0.1") && !strings.HasPrefix(w.URL, "http://localhost") {
		return fmt.Errorf("capture.delivery.webhook.url: want https (or http to loopback), got %q", w.URL)
	}
	b, err := os.ReadFile(w.SecretFile)
	if err != nil {
		return fmt.Errorf("capture.delivery.webhook.secret_file: %w", err)
	}
	w.secret = bytes.TrimSpace(b)
	if len(w.secret) < 16 {
		return fmt.Errorf("capture.delivery.webhook.secret_file: secret shorter than 16 bytes")
	}
	if w.Timeout == 0 {
		w.Timeout = 5 * time.Second
	}
	if w.Attempts == 0 {
		w.Attempts = 5
	}
	return nil
}

// Sign returns the signature header value for body at time t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// send posts body, retrying with backoff on errors and 5xx, until ctx ends.
// Each attempt's duration goes into took, by result.
func (w *Webhook) send(ctx context.Context, body []byte, took *prometheus.HistogramVec) error {
	var err error
	wait := 500 * time.Millisecond
	for i := 0; i < w.Attempts; i++ {
		start := time.Now()
		var code int
		code, err = w.post(ctx, body)
		took.WithLabelValues(webhookResult(code, err)).Observe(time.Since(start).Seconds())
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
			wait *= 2
		}
	}
	return err
}

// post makes one attempt; code is the receiver's status, 0 without an answer.
func (w *Webhook) post(ctx context.Context, body []byte) (code int, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Tonewall-Signature", Sign(w.secret, body, time.Now()))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("webhook answered %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

func webhookResult(code int, err error) string {
	switch {
	case err == nil:
		return webhookOK
	case code != 0:
		return webhookStatus
	}
	return webhookError
}
