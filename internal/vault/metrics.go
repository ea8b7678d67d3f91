package vault

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/tonewall/tonewall/internal/card"
)

// Timed wraps v so that each Tokenize and Detokenize is timed in
// tonewall_vault_request_duration_seconds{driver,op,result}, registered
// with reg. A driver that holds security codes ([CVVHolder]) still does
// through the wrapper.
func Timed(v Vault, driver string, reg prometheus.Registerer) Vault {
	t := &timed{Vault: v, driver: driver, took: promauto.With(reg).NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tonewall_vault_request_duration_seconds",
		Help:    "Vault calls, by driver, op (tokenize, detokenize) and result (ok, error).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"driver", "op", "result"})}
	if h, ok := v.(CVVHolder); ok {
		return &timedCVV{timed: t, CVVHolder: h}
	}
	return t
}

type timed struct {
	Vault
	driver string
	took   *prometheus.HistogramVec
}

type timedCVV struct {
	*timed
	CVVHolder
}

func (t *timed) Tokenize(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	res, err := t.Vault.Tokenize(ctx, req)
	t.observe("tokenize", start, err)
	return res, err
}

func (t *timed) Detokenize(ctx context.Context, token string) (card.PAN, card.Expiry, error) {
	start := time.Now()
	pan, exp, err := t.Vault.Detokenize(ctx, token)
	t.observe("detokenize", start, err)
	return pan, exp, err
}

func (t *timed) observe(op string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	t.took.WithLabelValues(t.driver, op, result).Observe(time.Since(start).Seconds())
}
