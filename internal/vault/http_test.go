package vault

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/card"
)

// fakeVault records what it received and answers with the next status in
// statuses (the last one repeats); 2xx answers carry a token.
type fakeVault struct {
	mu       sync.Mutex
	statuses []int
	bodies   []map[string]string
	headers  []http.Header
	token    string
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]string
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.headers = append(f.headers, r.Header.Clone())
	code := f.statuses[0]
	if len(f.statuses) > 1 {
		f.statuses = f.statuses[1:]
	}
	token := f.token
	f.mu.Unlock()
	w.WriteHeader(code)
	if code/100 == 2 {
		fmt.Fprintf(w, `{"token":%q,"brand":"ignored"}`, token)
	} else {
		// An unhelpful server that echoes the card: it must not reach errors.
		fmt.Fprintf(w, `{"error":"bad card %s"}`, body["pan"])
	}
}

func (f *fakeVault) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func newFakeVault(t *testing.T, statuses ...int) (*fakeVault, *httptest.Server) {
	f := &fakeVault{statuses: statuses, token: "tok_0123456789abcdef"}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func newTestHTTP(t *testing.T, cfg HTTPConfig) *HTTP {
	t.Helper()
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 5*time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	h, err := NewHTTP(cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func requireNoCardData(t *testing.T, err error) {
	t.Helper()
	// Errors name the vault's URL; the test server's random port could spell
	// "737" or "1230" by chance, so the address is blanked before the scan.
	msg := loopbackAddr.ReplaceAllString(err.Error(), "127.0.0.1:PORT")
	for _, s := range []string{testPAN, "411111", testExpiry, testCVV} {
		require.NotContains(t, msg, s)
	}
}

var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

func TestHTTPTokenize(t *testing.T) {
	f, srv := newFakeVault(t, 201)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL + "/v1/"})
	res, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	require.Equal(t, Result{Token: "tok_0123456789abcdef", Brand: card.Visa, Last4: "1111"}, res)
	require.Equal(t, map[string]string{
		"capture_id": "cap-1", "call_id": "call-cap-1", "pan": testPAN, "expiry": testExpiry, "cvv": testCVV,
	}, f.bodies[0])
	hd := f.headers[0]
	require.Equal(t, "cap-1", hd.Get("Idempotency-Key"))
	require.Equal(t, "application/json", hd.Get("Content-Type"))
	require.Empty(t, hd.Get("Authorization"), "no oauth2 configured")
}

func TestHTTPRetries5xxWithSameIdempotencyKey(t *testing.T) {
	f, srv := newFakeVault(t, 503, 502, 200)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL})
	res, err := h.Tokenize(context.Background(), request("cap-7", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	require.Equal(t, "tok_0123456789abcdef", res.Token)
	require.Equal(t, 3, f.calls())
	for _, hd := range f.headers {
		require.Equal(t, "cap-7", hd.Get("Idempotency-Key"))
	}
	for _, b := range f.bodies {
		require.Equal(t, testPAN, b["pan"], "every retry sends the whole body")
	}
}

func TestHTTPGivesUpAfterMaxAttempts(t *testing.T) {
	f, srv := newFakeVault(t, 500)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL, MaxAttempts: 3, Breaker: BreakerConfig{Failures: 10}})
	_, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrUnavailable)
	require.Contains(t, err.Error(), "status 500")
	require.Equal(t, 3, f.calls())
	requireNoCardData(t, err)
}

func TestHTTP4xxNotRetried(t *testing.T) {
	tests := []struct {
		code int
		want error
	}{
		{400, ErrRejected},
		{403, ErrRejected},
		{422, ErrRejected},
		{409, ErrIdempotencyConflict},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			f, srv := newFakeVault(t, tt.code, 200)
			h := newTestHTTP(t, HTTPConfig{URL: srv.URL})
			_, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
			require.ErrorIs(t, err, tt.want)
			require.NotErrorIs(t, err, ErrUnavailable)
			require.Equal(t, 1, f.calls())
			require.Contains(t, err.Error(), fmt.Sprintf("status %d", tt.code))
			requireNoCardData(t, err)
			require.Equal(t, breakerClosed, h.breaker.current(), "a 4xx is an answer: the vault is up")
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
		<-r.Context().Done()               // hangs until the client gives up
	}))
	t.Cleanup(srv.Close)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL, Timeout: 50 * time.Millisecond, MaxAttempts: 2})
	start := time.Now()
	_, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrUnavailable)
	require.EqualValues(t, 2, calls.Load(), "a timeout is retried")
	require.Less(t, time.Since(start), 2*time.Second)
	requireNoCardData(t, err)
}

func TestHTTPConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	h := newTestHTTP(t, HTTPConfig{URL: "http://" + addr})
	_, err = h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrUnavailable)
	require.Contains(t, err.Error(), "3 attempts failed")
}

func TestHTTPCallerCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL, Breaker: BreakerConfig{Failures: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := h.Tokenize(ctx, request("cap-1", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, breakerClosed, h.breaker.current(), "the caller giving up says nothing of the vault")
}

func TestHTTPBreakerOpensAndRecovers(t *testing.T) {
	f, srv := newFakeVault(t, 503)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL, MaxAttempts: 1, Breaker: BreakerConfig{Failures: 3, CoolDown: time.Minute}})
	var clock atomic.Int64
	base := time.Now()
	h.breaker.now = func() time.Time { return base.Add(time.Duration(clock.Load())) }
	ctx := context.Background()

	for range 3 {
		_, err := h.Tokenize(ctx, request("cap-1", testPAN, testExpiry, testCVV))
		require.ErrorIs(t, err, ErrUnavailable)
	}
	require.Equal(t, breakerOpen, h.breaker.current())
	_, err := h.Tokenize(ctx, request("cap-1", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrUnavailable)
	require.Contains(t, err.Error(), "circuit breaker open")
	require.Equal(t, 3, f.calls(), "an open breaker sends nothing")

	// Cool-down over, the trial call fails: open again, for another cool-down.
	clock.Store(int64(61 * time.Second))
	_, err = h.Tokenize(ctx, request("cap-1", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, 4, f.calls())
	require.Equal(t, breakerOpen, h.breaker.current())

	// The vault is back; after the cool-down one trial closes the breaker.
	f.mu.Lock()
	f.statuses = []int{200}
	f.mu.Unlock()
	clock.Store(int64(122 * time.Second))
	_, err = h.Tokenize(ctx, request("cap-1", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	require.Equal(t, breakerClosed, h.breaker.current())
	_, err = h.Tokenize(ctx, request("cap-2", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
}

func TestBreakerHalfOpenAllowsOneTrial(t *testing.T) {
	now := time.Now()
	b := newBreaker(BreakerConfig{Failures: 1, CoolDown: time.Second}, func() time.Time { return now })
	require.True(t, b.allow())
	require.True(t, b.failure())
	require.False(t, b.allow())
	now = now.Add(2 * time.Second)
	require.True(t, b.allow(), "trial")
	require.False(t, b.allow(), "only one trial at a time")
	b.release() // the trial's caller gave up
	require.True(t, b.allow(), "another trial")
	b.success()
	require.True(t, b.allow())
	require.True(t, b.allow())
}

// tokenServer is an OAuth2 token endpoint handing out tok-1, tok-2, …
type tokenServer struct {
	hits atomic.Int32
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if r.FormValue("grant_type") != "client_credentials" || !ok || id != "sbc" || secret != "s3cret" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
		return
	}
	n := s.hits.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600,"scope":%q}`, n, r.FormValue("scope"))
}

func TestHTTPOAuth2TokenFetchedAndCached(t *testing.T) {
	ts := &tokenServer{}
	idp := httptest.NewServer(ts)
	t.Cleanup(idp.Close)
	f, srv := newFakeVault(t, 200)
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("s3cret\n"), 0o600))
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL, OAuth2: OAuth2Config{
		TokenURL: idp.URL, ClientID: "sbc", ClientSecretFile: secretFile, Scopes: []string{"tokenize"},
	}})
	for i := range 3 {
		_, err := h.Tokenize(context.Background(), request(fmt.Sprint("cap-", i), testPAN, testExpiry, testCVV))
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, ts.hits.Load(), "token fetched once, then cached")
	for _, hd := range f.headers {
		require.Equal(t, "Bearer tok-1", hd.Get("Authorization"))
	}
}

func TestHTTPOAuth2RefreshOn401(t *testing.T) {
	ts := &tokenServer{}
	idp := httptest.NewServer(ts)
	t.Cleanup(idp.Close)
	var seen []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer tok-1" { // revoked
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"token":"tok_abc"}`)
	}))
	t.Cleanup(srv.Close)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL, OAuth2: OAuth2Config{TokenURL: idp.URL, ClientID: "sbc", ClientSecret: "s3cret"}})
	_, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	require.Equal(t, []string{"Bearer tok-1", "Bearer tok-2"}, seen)
}

func TestHTTPOAuth2BadClientNotRetried(t *testing.T) {
	ts := &tokenServer{}
	idp := httptest.NewServer(ts)
	t.Cleanup(idp.Close)
	f, srv := newFakeVault(t, 200)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL, OAuth2: OAuth2Config{TokenURL: idp.URL, ClientID: "sbc", ClientSecret: "wrong"}})
	_, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrRejected)
	require.Contains(t, err.Error(), "oauth2 token: status 401")
	require.NotContains(t, err.Error(), "invalid_client", "no response bodies in errors")
	require.Zero(t, f.calls())
}

func TestHTTPMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	f := &fakeVault{statuses: []int{200}, token: "tok_mtls"}
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.pool,
		MinVersion:   tls.VersionTLS12,
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "https://"))

	h := newTestHTTP(t, HTTPConfig{URL: srv.URL, TLS: ClientTLS{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile}})
	res, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	require.Equal(t, "tok_mtls", res.Token)

	noCert := newTestHTTP(t, HTTPConfig{URL: srv.URL, MaxAttempts: 1, TLS: ClientTLS{CAFile: pki.caFile}})
	_, err = noCert.Tokenize(context.Background(), request("cap-2", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrUnavailable, "server demands a client certificate")

	untrusted := newTestHTTP(t, HTTPConfig{URL: srv.URL, MaxAttempts: 1, TLS: ClientTLS{CertFile: pki.certFile, KeyFile: pki.keyFile}})
	_, err = untrusted.Tokenize(context.Background(), request("cap-3", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrUnavailable, "server certificate from an unknown CA")
	require.Contains(t, err.Error(), "certificate")
	require.Equal(t, 1, f.calls())
}

func TestHTTPRefusesCardNumberAsToken(t *testing.T) {
	for _, tok := range []string{testPAN, "x" + testPAN, "5555555555554444", "", "has space"} {
		t.Run(tok, func(t *testing.T) {
			f, srv := newFakeVault(t, 200)
			f.token = tok
			h := newTestHTTP(t, HTTPConfig{URL: srv.URL})
			_, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
			require.ErrorIs(t, err, ErrBadResponse)
			require.NotContains(t, err.Error(), "5555555555554444")
			requireNoCardData(t, err)
			require.Equal(t, 1, f.calls())
		})
	}
}

func TestHTTPDetokenize(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/detokenize", r.URL.Path)
		var body struct{ Token string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		switch body.Token {
		case "tok_known":
			fmt.Fprintf(w, `{"pan":%q,"expiry":%q}`, testPAN, testExpiry)
		case "tok_noexp":
			fmt.Fprintf(w, `{"pan":%q}`, testPAN)
		case "tok_bad":
			fmt.Fprint(w, `{"pan":"4111-1111"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL})
	ctx := context.Background()
	pan, exp, err := h.Detokenize(ctx, "tok_known")
	require.NoError(t, err)
	require.Equal(t, testPAN, string(pan.Bytes()))
	require.Equal(t, testExpiry, string(exp.Bytes()))
	pan, exp, err = h.Detokenize(ctx, "tok_noexp")
	require.NoError(t, err)
	require.Equal(t, testPAN, string(pan.Bytes()))
	require.Zero(t, exp.Len())
	_, _, err = h.Detokenize(ctx, "tok_bad")
	require.ErrorIs(t, err, ErrBadResponse)
	require.NotContains(t, err.Error(), "4111")
	_, _, err = h.Detokenize(ctx, "tok_unknown")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestHTTPClosed(t *testing.T) {
	_, srv := newFakeVault(t, 200)
	h := newTestHTTP(t, HTTPConfig{URL: srv.URL})
	require.NoError(t, h.Close())
	require.NoError(t, h.Close())
	_, err := h.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrClosed)
}

func TestSecretBodyWiped(t *testing.T) {
	body := tokenizeBody(request("cap-1", testPAN, testExpiry, testCVV))
	require.Equal(t, `{"capture_id":"cap-1","call_id":"call-cap-1","pan":"4111111111111111","expiry":"1230","cvv":"737"}`, string(body.buf))
	r := body.reader()
	head := make([]byte, 5)
	_, err := r.Read(head)
	require.NoError(t, err)
	body.wipe()
	require.Equal(t, make([]byte, len(body.buf)), body.buf)
	_, err = r.Read(head)
	require.ErrorIs(t, err, errBodyWiped, "a late read by net/http gets an error, not zeros")
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	h := &HTTP{cfg: HTTPConfig{BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second}}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 30: time.Second} {
		for range 100 {
			d := h.backoff(n)
			require.GreaterOrEqual(t, d, want/2)
			require.LessOrEqual(t, d, want)
		}
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  HTTPConfig
		want string
	}{
		{"no url", HTTPConfig{}, "url is required"},
		{"plain http off loopback", HTTPConfig{URL: "http://vault.example/v1"}, "loopback only"},
		{"ftp", HTTPConfig{URL: "ftp://vault.example"}, "scheme must be https"},
		{"credentials in url", HTTPConfig{URL: "https://u:p@vault.example"}, "must not hold credentials"},
		{"cert without key", HTTPConfig{URL: "https://v.example", TLS: ClientTLS{CertFile: "c.pem"}}, "go together"},
		{"too many attempts", HTTPConfig{URL: "https://v.example", MaxAttempts: 11}, "max_attempts"},
		{"oauth2 without client", HTTPConfig{URL: "https://v.example", OAuth2: OAuth2Config{TokenURL: "https://idp.example/t"}}, "client_id"},
		{"oauth2 two secrets", HTTPConfig{URL: "https://v.example", OAuth2: OAuth2Config{TokenURL: "https://idp.example/t", ClientID: "a", ClientSecret: "x", ClientSecretFile: "f"}}, "exactly one"},
		{"backoff inverted", HTTPConfig{URL: "https://v.example", BackoffMin: time.Second, BackoffMax: time.Millisecond}, "below backoff_min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.cfg.Validate(), tt.want)
		})
	}
	ok := HTTPConfig{URL: "http://127.0.0.1:8080"}
	require.NoError(t, ok.Validate())
	require.Equal(t, HTTPConfig{URL: ok.URL, Timeout: 5 * time.Second, MaxAttempts: 3, BackoffMin: 100 * time.Millisecond,
		BackoffMax: 2 * time.Second, Breaker: BreakerConfig{Failures: 5, CoolDown: 30 * time.Second}}, ok)
}

func TestNewPicksDriver(t *testing.T) {
	v, err := New(Config{Local: LocalConfig{Dir: t.TempDir()}}, nil)
	require.NoError(t, err)
	require.IsType(t, &Local{}, v)
	require.NoError(t, v.Close())
	v, err = New(Config{Driver: "http", HTTP: HTTPConfig{URL: "https://vault.example"}}, nil)
	require.NoError(t, err)
	require.IsType(t, &HTTP{}, v)
	require.NoError(t, v.Close())
	v, err = New(Config{Driver: "http"}, nil)
	require.Error(t, err)
	require.Nil(t, v)
	_, err = New(Config{Driver: "hsm"}, nil)
	require.ErrorContains(t, err, `vault.driver "hsm"`)
}
