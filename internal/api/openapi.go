package api

import (
	"bytes"
	_ "embed"
	"net/http"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the description of this API (OpenAPI 3.1), as served at
// /v1/openapi.yaml. The api tests hold it to the routes served, and the e2e
// suite checks every answer it gets against it.
func OpenAPI() []byte { return bytes.Clone(openAPI) }

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}

// routeMux is a ServeMux that keeps the patterns it serves, so that a test
// can hold the description to them.
type routeMux struct {
	*http.ServeMux
	routes []string
}

func (m *routeMux) HandleFunc(pattern string, h http.HandlerFunc) {
	m.routes = append(m.routes, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.routes = append(m.routes, pattern)
	m.ServeMux.Handle(pattern, h)
}
