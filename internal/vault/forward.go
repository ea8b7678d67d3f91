package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/card"
)

// MaxProcessorBody bounds the processor's answer that may be shown; a longer
// one is withheld.
const MaxProcessorBody = 64 << 10

// Why a processor's answer is withheld (Forwarded.Withheld).
const (
	WithheldTooLong    = "too_long"   // over MaxProcessorBody
	WithheldCardData   = "card_data"  // it may hold card data (see holdsCardData)
	WithheldUnreadable = "unreadable" // reading it failed after the status came
)

// MaxReferenceLen bounds the caller's reference ({{reference}}).
const MaxReferenceLen = 64

// maxReferenceDigits is the longest run of digits a reference may hold:
// the shortest card number has 12.
const maxReferenceDigits = 11

// Forwarder is detokenize-and-forward, the pattern of tokenization proxies:
// it turns a token back into the card and POSTs the card to the one payment
// processor endpoint of vault.detokenize, then hands back only the
// processor's status, and its answer when that holds no card data. The card
// itself never leaves tonewall any other way, and the caller never chooses
// where it goes. The control API's admin-only, audited
// POST /v1/tokens/{token}/detokenize is its one user.
//
// Every path, errors included, wipes what it held: the PAN and expiry from
// the vault, the security code taken from it, the rendered request body and
// the buffer the answer was read into. Like [HTTP], it cannot wipe the
// copies net/http and crypto/tls make of what they send.
//
// A Forwarder owns an http.Transport whose idle connections Close releases;
// its proxy is the environment's (see http_proxy.go, and LogProxy). It is
// safe for concurrent use.
type Forwarder struct {
	vault       Vault
	url         string
	host        string // the URL's host[:port], for the audit log
	timeout     time.Duration
	contentType string
	bearer      string // "" without bearer_token_file
	body        bodyTemplate
	client      *http.Client
	transport   *http.Transport
	closed      atomic.Bool
}

// Forwarded is what may be shown of a forward: the processor's answer.
type Forwarded struct {
	Status   int    // the processor's HTTP status
	Body     []byte // its answer; nil when empty or withheld
	JSON     bool   // Body is a JSON document
	Withheld string // why the answer is not shown, or "": WithheldTooLong, WithheldCardData, WithheldUnreadable
}

// NewForwarder reads the TLS files and the bearer token and builds the
// client for cfg, which must have a forward_url. It makes no request and
// starts no goroutines. A body that uses {{cvv}} needs a vault that holds
// security codes ([CVVHolder]).
func NewForwarder(cfg DetokenizeConfig, v Vault) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, detokenizeKeyErr("forward_url", "is empty: detokenization is off")
	}
	body, err := parseBodyTemplate(cfg.Body)
	if err != nil {
		return nil, detokenizeKeyErr("body", "%v", err)
	}
	if _, ok := v.(CVVHolder); body.uses(fieldCVV) && !ok {
		return nil, detokenizeKeyErr("body", "uses {{cvv}}, but this vault driver never holds a security code; take {{cvv}} out")
	}
	tlsCfg, err := cfg.ClientTLS.config("vault.detokenize")
	if err != nil {
		return nil, err
	}
	bearer, err := readBearerToken(cfg.BearerTokenFile)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.ForwardURL)
	if err != nil { // Validate parsed it
		return nil, detokenizeKeyErr("forward_url", "%v", err)
	}
	tr := newTransport(tlsCfg) // the environment's proxy: see http_proxy.go
	return &Forwarder{
		vault: v, url: cfg.ForwardURL, host: u.Host, timeout: cfg.Timeout, contentType: cfg.ContentType,
		bearer: bearer, body: body, transport: tr,
		client: &http.Client{
			Transport: tr,
			// The card goes to the configured URL and nowhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// readBearerToken reads bearer_token_file; no error shows its contents.
func readBearerToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("vault.detokenize.bearer_token_file: %w", err)
	}
	defer wipe(b)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("vault.detokenize.bearer_token_file %s is empty", path)
	}
	if !printable(s) {
		return "", fmt.Errorf("vault.detokenize.bearer_token_file %s holds spaces or characters an HTTP header cannot carry", path)
	}
	return s, nil
}

// Host is the processor's host[:port], as the audit log records it.
func (f *Forwarder) Host() string { return f.host }

// LogProxy says at info which proxy, if any, the POSTs to the processor go
// through: the environment's (see http_proxy.go).
func (f *Forwarder) LogProxy(log *zap.Logger) { logProxy(log, "vault.detokenize", f.url) }

// Close releases idle connections. Idempotent; later calls fail ErrClosed.
func (f *Forwarder) Close() error {
	if f.closed.CompareAndSwap(false, true) {
		f.transport.CloseIdleConnections()
	}
	return nil
}

// Forward detokenizes token and POSTs the card to the processor, with
// reference (may be empty) for {{reference}}. Its errors carry no card data:
//
//   - ErrInvalidRequest: token or reference has the wrong form; nothing sent;
//   - ErrNotFound: no such token; nothing sent;
//   - ErrNoCVV: the body needs the security code and it is no longer held
//     (never captured, already used, or its TTL ran out); nothing sent;
//   - ErrUnavailable: the vault (http driver) could not be reached;
//   - ErrProcessorUnavailable: the processor could not be reached, or did
//     not answer within the timeout;
//   - ErrClosed.
//
// Any answer from the processor, whatever its status, is a Forwarded and no
// error. The security code, once taken, is spent whatever the outcome: it
// was held for one authorization.
func (f *Forwarder) Forward(ctx context.Context, token, reference string) (Forwarded, error) {
	if f.closed.Load() {
		return Forwarded{}, ErrClosed
	}
	if err := CheckToken(token); err != nil {
		return Forwarded{}, err
	}
	if err := checkReference(reference); err != nil {
		return Forwarded{}, err
	}
	pan, exp, err := f.vault.Detokenize(ctx, token)
	defer pan.Wipe()
	defer exp.Wipe()
	if err != nil {
		return Forwarded{}, err
	}
	var cvv card.CVV
	defer cvv.Wipe()
	if f.body.uses(fieldCVV) {
		h, ok := f.vault.(CVVHolder)
		if !ok {
			return Forwarded{}, ErrNoCVV
		}
		if cvv, err = h.TakeCVV(token); err != nil {
			return Forwarded{}, err
		}
	}
	for _, s := range []card.Secret{pan.Secret, exp.Secret, cvv.Secret} {
		if !digitsOnly(s.Bytes()) {
			return Forwarded{}, fmt.Errorf("%w: card data from the vault is not all digits", ErrBadResponse)
		}
	}
	body := &secretBody{buf: f.body.render(bodyValues{
		token: token, reference: reference, pan: pan.Bytes(), expiry: exp.Bytes(), cvv: cvv.Bytes(),
	})}
	defer body.wipe()
	return f.post(ctx, body, pan.Bytes(), exp.Bytes(), cvv.Bytes())
}

// post sends body and reads the answer, under the timeout.
func (f *Forwarder) post(ctx context.Context, body *secretBody, pan, exp, cvv []byte) (Forwarded, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, body.reader())
	if err != nil {
		return Forwarded{}, fmt.Errorf("vault: detokenize: %w", err)
	}
	req.ContentLength = int64(len(body.buf))
	req.Header.Set("Content-Type", f.contentType)
	req.Header.Set("User-Agent", "tonewall")
	if f.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+f.bearer)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return Forwarded{}, fmt.Errorf("%w: POST %s: %w", ErrProcessorUnavailable, f.host, transportError(err))
	}
	defer resp.Body.Close()
	out := Forwarded{Status: resp.StatusCode}
	buf := make([]byte, MaxProcessorBody)
	defer wipe(buf)
	n, err := readAll(resp.Body, buf)
	switch {
	case errors.Is(err, errTooLong):
		out.Withheld = WithheldTooLong
	case err != nil:
		out.Withheld = WithheldUnreadable
	case n == 0:
	case holdsCardData(buf[:n], pan, exp, cvv):
		out.Withheld = WithheldCardData
	default:
		out.Body = bytes.Clone(buf[:n])
		out.JSON = json.Valid(out.Body)
	}
	return out, nil
}

// CheckToken refuses what cannot be a token, and above all a card number
// typed in its place: what passes may be echoed and audited. Its errors wrap
// ErrInvalidRequest and never repeat the token.
func CheckToken(token string) error {
	if token == "" || len(token) > 64 || !printable(token) {
		return fmt.Errorf("%w: a token is 1 to 64 printable ASCII characters", ErrInvalidRequest)
	}
	if holdsCardNumber(token) {
		return fmt.Errorf("%w: that is a card number, not a token", ErrInvalidRequest)
	}
	return nil
}

// checkReference allows up to 64 characters of A-Z a-z 0-9 . _ : - with no
// more than 11 digits in a row, separators not counting as a break: short
// enough to carry no card number.
func checkReference(ref string) error {
	bad := fmt.Errorf("%w: reference: up to %d characters of A-Z a-z 0-9 . _ : -, with at most %d digits in a row (. _ : - do not break a row)",
		ErrInvalidRequest, MaxReferenceLen, maxReferenceDigits)
	if len(ref) > MaxReferenceLen {
		return bad
	}
	run := 0
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case isDigit(c):
			run++
		case c == '.' || c == '_' || c == ':' || c == '-':
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			run = 0
		default:
			return bad
		}
		if run > maxReferenceDigits {
			return bad
		}
	}
	return nil
}

func digitsOnly(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}
