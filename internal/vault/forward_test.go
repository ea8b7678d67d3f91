package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/config"
	"github.com/tonewall/tonewall/internal/vault/vaulttest"
)

// newProcessor starts a processor over plain HTTP on loopback.
func newProcessor(t *testing.T, status int, answer string) (*vaulttest.Processor, *httptest.Server) {
	p := vaulttest.NewProcessor(status, answer)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv
}

func newTestForwarder(t *testing.T, cfg DetokenizeConfig, v Vault) *Forwarder {
	t.Helper()
	f, err := NewForwarder(cfg, v)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// tokenizeTest stores the test card (with its security code) and returns
// its token.
func tokenizeTest(t *testing.T, l *Local, captureID string) string {
	t.Helper()
	res, err := l.Tokenize(context.Background(), request(captureID, testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	return res.Token
}

// TestForwardSendsTheCard: over mutual TLS, with a bearer token, the
// processor receives exactly the card behind the token in the default
// body, and the caller gets its status and JSON answer back.
func TestForwardSendsTheCard(t *testing.T) {
	pki := newTestPKI(t)
	p := vaulttest.NewProcessor(201, `{"id":"auth_8f2","approved":true}`)
	srv := httptest.NewUnstartedServer(p)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: pki.pool, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	bearerFile := filepath.Join(t.TempDir(), "bearer")
	require.NoError(t, os.WriteFile(bearerFile, []byte("sk_test_abc123\n"), 0o600))

	l := newTestLocal(t, LocalConfig{})
	token := tokenizeTest(t, l, "cap-1")
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: srv.URL + "/v1/authorize", BearerTokenFile: bearerFile,
		ClientTLS: ClientTLS{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile}}, l)
	require.Equal(t, srv.Listener.Addr().String(), f.Host())

	got, err := f.Forward(context.Background(), token, "order-42")
	require.NoError(t, err)
	require.Equal(t, Forwarded{Status: 201, Body: []byte(`{"id":"auth_8f2","approved":true}`), JSON: true}, got)
	require.Equal(t, []string{`{"token":"` + token + `","pan":"4111111111111111","expiry":"1230","cvv":"737","reference":"order-42"}`}, p.Requests())
	h := p.Headers()[0]
	require.Equal(t, "Bearer sk_test_abc123", h.Get("Authorization"))
	require.Equal(t, "application/json", h.Get("Content-Type"))
}

// TestForwardSecurityCodeOnce: the security code goes out once; a second
// forward of the same token fails ErrNoCVV and sends nothing.
func TestForwardSecurityCodeOnce(t *testing.T) {
	p, srv := newProcessor(t, 200, "")
	l := newTestLocal(t, LocalConfig{})
	token := tokenizeTest(t, l, "cap-1")
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: srv.URL}, l)
	got, err := f.Forward(context.Background(), token, "")
	require.NoError(t, err)
	require.Equal(t, Forwarded{Status: 200}, got, "an empty answer is neither shown nor withheld")
	_, err = f.Forward(context.Background(), token, "")
	require.ErrorIs(t, err, ErrNoCVV)
	require.Len(t, p.Requests(), 1, "no request without the security code")
	_, err = l.TakeCVV(token)
	require.ErrorIs(t, err, ErrNoCVV, "the forward took it from the vault")
}

// TestForwardSecurityCodeExpired: after cvv_ttl the code is gone: ErrNoCVV,
// nothing sent.
func TestForwardSecurityCodeExpired(t *testing.T) {
	p, srv := newProcessor(t, 200, "")
	l := newTestLocal(t, LocalConfig{CVVTTL: 20 * time.Millisecond})
	token := tokenizeTest(t, l, "cap-1")
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: srv.URL}, l)
	require.Eventually(t, func() bool { return l.cvv.len() == 0 }, 2*time.Second, 5*time.Millisecond)
	_, err := f.Forward(context.Background(), token, "")
	require.ErrorIs(t, err, ErrNoCVV)
	require.Empty(t, p.Requests())
}

// TestForwardWithoutSecurityCode: a body without {{cvv}} leaves the code
// held, and may be forwarded again.
func TestForwardWithoutSecurityCode(t *testing.T) {
	p, srv := newProcessor(t, 200, "ok")
	l := newTestLocal(t, LocalConfig{})
	token := tokenizeTest(t, l, "cap-1")
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: srv.URL, ContentType: "application/x-www-form-urlencoded",
		Body: "card={{ pan }}&exp={{expiry}}&ref={{reference}}"}, l)
	for range 2 {
		got, err := f.Forward(context.Background(), token, "A-1")
		require.NoError(t, err)
		require.Equal(t, Forwarded{Status: 200, Body: []byte("ok")}, got, "a text answer is shown as text")
	}
	require.Equal(t, []string{"card=4111111111111111&exp=1230&ref=A-1", "card=4111111111111111&exp=1230&ref=A-1"}, p.Requests())
	require.Equal(t, "application/x-www-form-urlencoded", p.Headers()[0].Get("Content-Type"))
	cvv, err := l.TakeCVV(token)
	require.NoError(t, err, "the security code is still held")
	cvv.Wipe()
}

// TestForwardRefusesBeforeSending: unknown tokens, card numbers in place of
// a token and bad references send nothing, and no error echoes digits.
func TestForwardRefusesBeforeSending(t *testing.T) {
	p, srv := newProcessor(t, 200, "")
	l := newTestLocal(t, LocalConfig{})
	token := tokenizeTest(t, l, "cap-1")
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: srv.URL}, l)
	tests := []struct {
		token, ref string
		want       error
	}{
		{"9000000000000002", "", ErrNotFound},
		{testPAN, "", ErrInvalidRequest},
		{"x" + testPAN + "y", "", ErrInvalidRequest},
		{"4111 1111 1111 1111", "", ErrInvalidRequest},
		{"", "", ErrInvalidRequest},
		{strings.Repeat("9", 65), "", ErrInvalidRequest},
		{token, strings.Repeat("a", 65), ErrInvalidRequest},
		{token, "has space", ErrInvalidRequest},
		{token, `quote"`, ErrInvalidRequest},
		{token, "411111111111", ErrInvalidRequest},
		{token, "4111-1111-1111-1111", ErrInvalidRequest},
		{token, "ref:4111.1111.1111.1111", ErrInvalidRequest},
	}
	for _, tt := range tests {
		_, err := f.Forward(context.Background(), tt.token, tt.ref)
		require.ErrorIs(t, err, tt.want, "token %q reference %q", tt.token, tt.ref)
		requireNoCardData(t, err)
	}
	require.Empty(t, p.Requests())
	for _, ref := range []string{"", "order-42", "INV-2026-000123", "a.b_c:d-E", "12345678901", strings.Repeat("z", 64)} {
		require.NoError(t, checkReference(ref), ref)
	}
}

// TestForwardWithholdsCardData: an answer that holds the card in any usual
// form, or any other card number, or is too long, is withheld; the status
// is still given.
func TestForwardWithholdsCardData(t *testing.T) {
	tests := []struct {
		answer string
		want   string // Withheld
	}{
		{`{"echo":"4111111111111111"}`, WithheldCardData},
		{`card 4111 1111 1111 1111 ok`, WithheldCardData},
		{`card 4111-1111-1111-1111`, WithheldCardData},
		{`{"n":4111111111111111}`, WithheldCardData},
		{`{"echo":"\u0034111111111111111"}`, WithheldCardData},
		{`{"exp":"1230"}`, WithheldCardData},
		{`{"exp":"12/30"}`, WithheldCardData},
		{`{"cvv":"737"}`, WithheldCardData},
		{`{"cvv_check":"M","code":737}`, WithheldCardData},
		{`{"other_card":"5555555555554444"}`, WithheldCardData},
		{`{"amex":"378282246310005"}`, WithheldCardData},
		{strings.Repeat("x", MaxProcessorBody+1), WithheldTooLong},
		{`{"id":"17370","ref":"99737","ts":1736512345}`, ""}, // 737 only inside longer numbers
		{`{"token_echo":"9111111111111112","approved":true}`, ""},
		{`{"id":"txn_0123456789012345678901"}`, ""}, // 22 digits: not a card number's length
	}
	for _, tt := range tests {
		name := tt.answer
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			_, srv := newProcessor(t, 402, tt.answer)
			l := newTestLocal(t, LocalConfig{})
			token := tokenizeTest(t, l, "cap-1")
			f := newTestForwarder(t, DetokenizeConfig{ForwardURL: srv.URL}, l)
			got, err := f.Forward(context.Background(), token, "")
			require.NoError(t, err)
			require.Equal(t, 402, got.Status)
			require.Equal(t, tt.want, got.Withheld)
			if tt.want != "" {
				require.Nil(t, got.Body)
			} else {
				require.Equal(t, tt.answer, string(got.Body))
			}
		})
	}
}

// TestForwardProcessorUnavailable: a processor that hangs past the timeout
// or refuses connections is ErrProcessorUnavailable, quickly, without card
// digits in the error.
func TestForwardProcessorUnavailable(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	for _, url := range []string{hang.URL, refused} {
		l := newTestLocal(t, LocalConfig{})
		token := tokenizeTest(t, l, "cap-1")
		f := newTestForwarder(t, DetokenizeConfig{ForwardURL: url, Timeout: 100 * time.Millisecond}, l)
		start := time.Now()
		_, err := f.Forward(context.Background(), token, "")
		require.ErrorIs(t, err, ErrProcessorUnavailable)
		require.Less(t, time.Since(start), 2*time.Second)
		require.Contains(t, err.Error(), f.Host())
		requireNoCardData(t, err)
		_, err = l.TakeCVV(token)
		require.ErrorIs(t, err, ErrNoCVV, "the attempt spent the security code")
	}
}

// TestForwardFollowsNoRedirect: a redirect is reported as the processor's
// status; the card does not follow it.
func TestForwardFollowsNoRedirect(t *testing.T) {
	elsewhere, other := newProcessor(t, 200, "")
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	l := newTestLocal(t, LocalConfig{})
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: redirect.URL}, l)
	got, err := f.Forward(context.Background(), tokenizeTest(t, l, "cap-1"), "")
	require.NoError(t, err)
	require.Equal(t, http.StatusTemporaryRedirect, got.Status)
	require.Empty(t, elsewhere.Requests())
}

// TestForwardRefusesUntrustedProcessor: a certificate from an unknown CA is
// a failed handshake, before any card byte is written.
func TestForwardRefusesUntrustedProcessor(t *testing.T) {
	p := vaulttest.NewProcessor(200, "")
	srv := httptest.NewUnstartedServer(p)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	l := newTestLocal(t, LocalConfig{})
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: srv.URL}, l)
	_, err := f.Forward(context.Background(), tokenizeTest(t, l, "cap-1"), "")
	require.ErrorIs(t, err, ErrProcessorUnavailable)
	require.Contains(t, err.Error(), "certificate")
	require.Empty(t, p.Requests())
}

// heldVault hands out Secrets the test keeps, to see them wiped.
type heldVault struct {
	pan    card.PAN
	exp    card.Expiry
	cvv    card.CVV
	detErr error
}

func (v *heldVault) Tokenize(context.Context, Request) (Result, error) { return Result{}, nil }
func (v *heldVault) Close() error                                      { return nil }
func (v *heldVault) Detokenize(context.Context, string) (card.PAN, card.Expiry, error) {
	return v.pan, v.exp, v.detErr
}
func (v *heldVault) TakeCVV(string) (card.CVV, error) { return v.cvv, nil }

// keepBody is a transport that keeps the request body it was given, then
// answers or fails.
type keepBody struct {
	body io.ReadCloser
	err  error
}

func (k *keepBody) RoundTrip(r *http.Request) (*http.Response, error) {
	k.body = r.Body
	_, _ = io.Copy(io.Discard, r.Body)
	if k.err != nil {
		return nil, k.err
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Request: r}, nil
}

// TestForwardWipesOnEveryPath: the PAN, expiry, security code and rendered
// body are wiped after a forward that succeeded, one whose request failed,
// and one the vault refused.
func TestForwardWipesOnEveryPath(t *testing.T) {
	for _, path := range []string{"answered", "request failed", "vault error"} {
		t.Run(path, func(t *testing.T) {
			v := &heldVault{pan: card.NewPAN([]byte(testPAN)), exp: card.NewExpiry([]byte(testExpiry)), cvv: card.NewCVV([]byte(testCVV))}
			tr := &keepBody{}
			switch path {
			case "request failed":
				tr.err = errors.New("connection reset")
			case "vault error":
				v.detErr = ErrUnavailable
			}
			f := newTestForwarder(t, DetokenizeConfig{ForwardURL: "https://pay.example/authorize"}, v)
			f.client.Transport = tr
			_, err := f.Forward(context.Background(), "9123456789011112", "ref")
			require.Zero(t, v.pan.Len(), "PAN wiped")
			require.Zero(t, v.exp.Len(), "expiry wiped")
			switch path {
			case "answered":
				require.NoError(t, err)
			case "request failed":
				require.ErrorIs(t, err, ErrProcessorUnavailable)
			case "vault error":
				require.ErrorIs(t, err, ErrUnavailable)
				require.Nil(t, tr.body, "nothing sent")
				require.Equal(t, testCVV, string(v.cvv.Bytes()), "the code is not taken when the card is not found")
				return
			}
			require.Zero(t, v.cvv.Len(), "security code wiped")
			sr, ok := tr.body.(*secretReader)
			require.True(t, ok, "the body went out as a secretBody")
			require.True(t, sr.s.wiped)
			require.Equal(t, make([]byte, len(sr.s.buf)), sr.s.buf, "rendered body wiped")
		})
	}
}

// TestForwardConcurrent: forwards of different tokens run at once.
func TestForwardConcurrent(t *testing.T) {
	p, srv := newProcessor(t, 200, `{"ok":true}`)
	l := newTestLocal(t, LocalConfig{})
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: srv.URL}, l)
	var tokens []string
	for i := range 8 {
		tokens = append(tokens, tokenizeTest(t, l, fmt.Sprint("cap-", i)))
	}
	var wg sync.WaitGroup
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.Forward(context.Background(), tok, "")
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Len(t, p.Requests(), 8)
	require.NoError(t, f.Close())
	_, err := f.Forward(context.Background(), tokens[0], "")
	require.ErrorIs(t, err, ErrClosed)
}

func TestBodyTemplate(t *testing.T) {
	tpl, err := parseBodyTemplate(`{{pan}}}}{"t":"{{ token }}","r":"{{reference}}"}{{cvv}}`)
	require.NoError(t, err)
	got := tpl.render(bodyValues{token: `tok"<1>`, reference: "r-1", pan: []byte(testPAN), cvv: []byte(testCVV)})
	require.Equal(t, testPAN+`}}{"t":"tok\"\u003c1\u003e","r":"r-1"}737`, string(got))
	require.Equal(t, len(got), cap(got), "one allocation of the exact size: no stale copy of the digits")
	require.True(t, tpl.uses(fieldCVV))
	require.False(t, tpl.uses(fieldExpiry))

	for body, want := range map[string]string{
		`{"pan":"{{pan}}","x":"{{card}}"}`: `unknown placeholder "{{card}}"`,
		`{"pan":"{{pan}}","x":"{{cvv"}`:    `the "{{" at byte 22 is never closed`,
		`{"token":"{{token}}"}`:            `has no {{pan}}`,
		`{{PAN}}`:                          `unknown placeholder "{{PAN}}"`,
	} {
		_, err := parseBodyTemplate(body)
		require.ErrorContains(t, err, want, body)
	}
}

func TestDetokenizeConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  DetokenizeConfig
		key  string
		want string
	}{
		{"plain http off loopback", DetokenizeConfig{ForwardURL: "http://pay.example/a"}, "forward_url", "loopback only"},
		{"ftp", DetokenizeConfig{ForwardURL: "ftp://pay.example"}, "forward_url", "scheme must be https"},
		{"credentials", DetokenizeConfig{ForwardURL: "https://u:p@pay.example"}, "forward_url", "bearer_token_file"},
		{"relative", DetokenizeConfig{ForwardURL: "/authorize"}, "forward_url", "not an absolute URL"},
		{"negative timeout", DetokenizeConfig{Timeout: -time.Second}, "timeout", "between"},
		{"long timeout", DetokenizeConfig{Timeout: time.Hour}, "timeout", "between"},
		{"cert without key", DetokenizeConfig{ClientTLS: ClientTLS{CertFile: "c.pem"}}, "cert_file", "go together"},
		{"content type", DetokenizeConfig{ContentType: "json please"}, "content_type", "not a media type"},
		{"placeholder", DetokenizeConfig{Body: `{"pan":"{{pan}}","n":"{{name}}"}`}, "body", `"{{name}}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var ke *config.FieldError
			require.ErrorAs(t, err, &ke)
			require.Equal(t, "vault.detokenize."+tt.key, ke.Path)
			require.Contains(t, ke.Msg, tt.want)
		})
	}
	var c DetokenizeConfig
	require.NoError(t, c.Validate())
	require.Equal(t, DetokenizeConfig{Timeout: 10 * time.Second, ContentType: "application/json", Body: DefaultDetokenizeBody}, c)
	require.False(t, c.Enabled())

	http := Config{Driver: DriverHTTP, HTTP: HTTPConfig{URL: "https://vault.example"}, Detokenize: DetokenizeConfig{ForwardURL: "https://pay.example"}}
	require.ErrorContains(t, http.Validate(), "uses {{cvv}}, but the http driver never holds a security code")
	http.Detokenize.Body = `{"pan":"{{pan}}"}`
	require.NoError(t, http.Validate())
}

func TestNewForwarderRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
		return p
	}
	l := newTestLocal(t, LocalConfig{})
	url := "https://pay.example/authorize"
	tests := []struct {
		name string
		cfg  DetokenizeConfig
		v    Vault
		want string
	}{
		{"off", DetokenizeConfig{}, l, "detokenization is off"},
		{"bearer file missing", DetokenizeConfig{ForwardURL: url, BearerTokenFile: filepath.Join(dir, "none")}, l, "bearer_token_file"},
		{"bearer file empty", DetokenizeConfig{ForwardURL: url, BearerTokenFile: write("empty", " \n")}, l, "is empty"},
		{"bearer with space", DetokenizeConfig{ForwardURL: url, BearerTokenFile: write("space", "sk live\n")}, l, "cannot carry"},
		{"ca file missing", DetokenizeConfig{ForwardURL: url, ClientTLS: ClientTLS{CAFile: filepath.Join(dir, "none.pem")}}, l, "vault.detokenize.ca_file"},
		{"cvv from a driver without", DetokenizeConfig{ForwardURL: url}, &HTTP{}, "never holds a security code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewForwarder(tt.cfg, tt.v)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, f)
			require.NotContains(t, err.Error(), "sk live")
		})
	}
}
