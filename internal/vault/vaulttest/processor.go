// Package vaulttest holds a test double for detokenize-and-forward: a
// payment processor that records what it is sent.
package vaulttest

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Processor is a payment processor: it records each request's body and
// headers and answers with a settable status and body. It is an
// http.Handler, safe for concurrent use.
type Processor struct {
	mu      sync.Mutex
	bodies  []string
	headers []http.Header
	status  int
	answer  string
}

// NewProcessor answers status and answer until told otherwise.
func NewProcessor(status int, answer string) *Processor {
	return &Processor{status: status, answer: answer}
}

func (p *Processor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.bodies = append(p.bodies, string(b))
	p.headers = append(p.headers, r.Header.Clone())
	status, answer := p.status, p.answer
	p.mu.Unlock()
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

// Answer sets what later requests are answered.
func (p *Processor) Answer(status int, answer string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status, p.answer = status, answer
}

// Requests are the bodies received, in order.
func (p *Processor) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

// Headers are the headers of the requests received, in order.
func (p *Processor) Headers() []http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]http.Header(nil), p.headers...)
}

// StartTLS serves p over TLS on loopback until the test ends, and writes
// the server's certificate to a PEM file to trust as ca_file.
func StartTLS(t testing.TB, p *Processor) (srv *httptest.Server, caFile string) {
	t.Helper()
	srv = httptest.NewTLSServer(p)
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "processor-ca.pem")
	der := srv.Certificate().Raw
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}
