package vault

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/card"
)

// TestTimedCountsCallsAndKeepsCVV: each call is timed by op and result,
// and the wrapped local driver still hands over security codes.
func TestTimedCountsCallsAndKeepsCVV(t *testing.T) {
	l, err := NewLocal(LocalConfig{Dir: t.TempDir()}, zap.NewNop())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	v := Timed(l, DriverLocal, reg)
	defer v.Close()
	_, ok := v.(CVVHolder)
	assert.True(t, ok, "the local driver's CVVHolder is kept")

	res, err := v.Tokenize(context.Background(), Request{CaptureID: "c1", PAN: card.NewPAN([]byte(testPAN))})
	require.NoError(t, err)
	_, _, err = v.Detokenize(context.Background(), res.Token)
	require.NoError(t, err)
	_, _, err = v.Detokenize(context.Background(), "tok_unknown")
	require.Error(t, err)

	n, err := testutil.GatherAndCount(reg, "tonewall_vault_request_duration_seconds")
	require.NoError(t, err)
	assert.Equal(t, 3, n, "series: tokenize ok, detokenize ok, detokenize error")
	assert.Equal(t, 3, sampleCount(t, reg))
}

func sampleCount(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			n += int(m.GetHistogram().GetSampleCount())
		}
	}
	return n
}
