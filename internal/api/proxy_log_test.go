package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tonewall/tonewall/internal/vault"
)

// TestSetDetokenizeLogsProxy: when tonewall starts with detokenization on,
// the API logs at info which proxy, if any, the forwarder's POSTs go
// through, as the environment of this process has it; the value names no
// user or password. (internal/vault's proxy tests set the environment.)
func TestSetDetokenizeLogsProxy(t *testing.T) {
	v, err := vault.NewLocal(vault.LocalConfig{Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	fwd, err := vault.NewForwarder(vault.DetokenizeConfig{ForwardURL: "https://processor.example/authorize"}, v)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fwd.Close() })

	core, logs := observer.New(zapcore.InfoLevel)
	s := New(Config{Address: "127.0.0.1:0"}, noCalls{}, nil, prometheus.NewRegistry(), zap.New(core))
	s.SetDetokenize(fwd, nil)
	s.SetDetokenize(nil, nil) // off: nothing to say

	want := "none"
	p, err := http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: "https", Host: "processor.example"}})
	require.NoError(t, err)
	if p != nil {
		want = p.Scheme + "://" + p.Host
	}
	lines := logs.FilterMessage("outbound proxy").All()
	require.Len(t, lines, 1)
	require.Equal(t, map[string]any{"client": "vault.detokenize", "host": "processor.example", "proxy": want}, lines[0].ContextMap())
	got, err := url.Parse(want)
	require.NoError(t, err)
	require.Nil(t, got.User)
}
