package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// everything is a tonewall with every optional part the API serves routes
// for: metrics gauges and reload.
type everything struct{ reloading }

func (everything) PortsInUse() int               { return 0 }
func (everything) CaptureStates() map[string]int { return nil }

// The description is valid OpenAPI 3.1, and its operations are the routes a
// server with every part serves, no more and no fewer.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPI())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	require.Equal(t, "3.1.0", doc.OpenAPI)

	var described []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" "+path)
		}
	}
	s := New(Config{Address: "127.0.0.1:0"}, &everything{}, nil, prometheus.NewRegistry(), zap.NewNop())
	served := slices.Clone(s.routes)
	for _, want := range []string{"GET /metrics", "POST /v1/reload", "GET /v1/events"} {
		require.Contains(t, served, want, "the test server lacks a part")
	}
	slices.Sort(described)
	slices.Sort(served)
	require.Equal(t, served, described, "routes served (left) and described (right)")
	for _, r := range served {
		require.False(t, strings.HasSuffix(r, "/"), "pattern %q matches a whole subtree", r)
	}
}

// GET /v1/openapi.yaml is open to every role's key, and to no stranger.
func TestOpenAPIServedToKeys(t *testing.T) {
	leakCheck(t)
	e := startEdge(t, Config{}, noCalls{}, nil)
	for _, key := range []string{"agent-key", "super-key", "audit-key", "admin-key"} {
		code, body := e.get(t, "/v1/openapi.yaml", "Bearer "+key)
		require.Equal(t, http.StatusOK, code, key)
		require.Equal(t, string(openAPI), body, key)
	}
	code, body := e.get(t, "/v1/openapi.yaml", "")
	require.Equal(t, http.StatusUnauthorized, code)
	require.NotContains(t, body, "openapi")
}
