package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/card"
)

// maxResponse bounds what is read of an answer; real ones are under 1 KiB.
const maxResponse = 16 << 10

// HTTP is the external vault driver. The wire format, JSON over HTTPS:
//
//	POST <url>/tokenize
//	Authorization: Bearer <OAuth2 client-credentials access token>   (when oauth2 is configured)
//	Idempotency-Key: <capture id>                                     (the same on every retry)
//	{"capture_id":"…","call_id":"…","pan":"4111…","expiry":"MMYY","cvv":"123"}
//	→ 200 or 201 {"token":"…"}   (other fields are ignored; brand and last4 come from the PAN)
//	→ 409: capture id already used for another card (ErrIdempotencyConflict)
//
//	POST <url>/detokenize
//	{"token":"…"}
//	→ 200 {"pan":"…","expiry":"MMYY"}   → 404: unknown token (ErrNotFound)
//
// expiry and cvv are left out when the capture did not collect them. A 401
// drops the cached access token and is retried once with a new one. Other
// 4xx fail at once (ErrRejected). 5xx, 429, timeouts and connection errors
// are retried up to max_attempts with exponential backoff and jitter, and
// count toward the circuit breaker; when they run out, or the breaker is
// open, the error wraps ErrUnavailable. A token that is a valid card number
// or contains the PAN is refused (ErrBadResponse). Redirects are never
// followed. No error holds a request or response body.
//
// HTTP owns an http.Transport whose idle connections Close releases.
type HTTP struct {
	cfg        HTTPConfig
	log        *zap.Logger
	client     *http.Client
	transport  *http.Transport
	bearer     *bearer // nil without oauth2
	breaker    *breaker
	tokenize   string // <url>/tokenize
	detokenize string // <url>/detokenize
	sleep      func(ctx context.Context, d time.Duration) error
	closed     atomic.Bool
}

var _ Vault = (*HTTP)(nil)

// NewHTTP reads the TLS files and the client secret and builds the client,
// logging at info the proxy it will use (see http_proxy.go). It makes no
// request and starts no goroutines. log may be nil.
func NewHTTP(cfg HTTPConfig, log *zap.Logger) (*HTTP, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.TLS.config("vault.http.tls")
	if err != nil {
		return nil, err
	}
	tr := newTransport(tlsCfg) // the environment's proxy: see http_proxy.go
	tr.MaxIdleConnsPerHost = 16
	client := &http.Client{
		Transport: tr,
		// Card data never follows a redirect to wherever it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	b, err := newBearer(cfg.OAuth2, client)
	if err != nil {
		return nil, err
	}
	logProxy(log, "vault.http", cfg.URL)
	if cfg.OAuth2.TokenURL != "" {
		logProxy(log, "vault.http.oauth2", cfg.OAuth2.TokenURL)
	}
	base := strings.TrimSuffix(cfg.URL, "/")
	return &HTTP{
		cfg: cfg, log: log, client: client, transport: tr, bearer: b,
		breaker:  newBreaker(cfg.Breaker, time.Now),
		tokenize: base + "/tokenize", detokenize: base + "/detokenize",
		sleep: sleepCtx,
	}, nil
}

// Tokenize implements Vault.
func (h *HTTP) Tokenize(ctx context.Context, req Request) (Result, error) {
	if h.closed.Load() {
		return Result{}, ErrClosed
	}
	if err := req.validate(); err != nil {
		return Result{}, err
	}
	body := tokenizeBody(req)
	defer body.wipe()
	var token string
	err := h.call(ctx, h.tokenize, req.CaptureID, body, func(resp []byte) error {
		var err error
		token, err = parseToken(resp, req.PAN)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return resultFor(token, req.PAN), nil
}

// Detokenize implements Vault. The caller wipes the returned Secrets.
func (h *HTTP) Detokenize(ctx context.Context, token string) (card.PAN, card.Expiry, error) {
	if h.closed.Load() {
		return card.PAN{}, card.Expiry{}, ErrClosed
	}
	if token == "" {
		return card.PAN{}, card.Expiry{}, ErrNotFound
	}
	body := &secretBody{buf: appendJSONString([]byte(`{"token":`), token)}
	body.buf = append(body.buf, '}')
	defer body.wipe()
	var pan card.PAN
	var exp card.Expiry
	err := h.call(ctx, h.detokenize, "", body, func(resp []byte) error {
		var err error
		pan, exp, err = parseCard(resp)
		return err
	})
	return pan, exp, err
}

// Close releases idle connections. Idempotent; later calls fail ErrClosed.
func (h *HTTP) Close() error {
	if h.closed.CompareAndSwap(false, true) {
		h.transport.CloseIdleConnections()
	}
	return nil
}

// outcome is how an attempt ended.
type outcome int

const (
	outcomeOK        outcome = iota
	outcomeRetry             // the vault looks unavailable: count it, back off, try again
	outcomeFinal             // the vault answered; the answer is the error
	outcomeAuthRetry         // 401: try once more with a fresh access token
)

// call runs attempts until one succeeds, a final answer comes, the attempts
// run out, the breaker opens or ctx ends. handle parses a 2xx body, which
// is wiped after.
func (h *HTTP) call(ctx context.Context, url, idemKey string, body *secretBody, handle func([]byte) error) error {
	var lastErr error
	authRetried := false
	for attempt := 1; attempt <= h.cfg.MaxAttempts; {
		if !h.breaker.allow() {
			return unavailable("circuit breaker open", lastErr)
		}
		out, err := h.attempt(ctx, url, idemKey, body, handle)
		if ctx.Err() != nil && out != outcomeOK {
			h.breaker.release()
			return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		switch out {
		case outcomeOK:
			h.breaker.success()
			return nil
		case outcomeFinal:
			h.breaker.success() // it answered: it is up
			return err
		case outcomeAuthRetry:
			h.breaker.success()
			if authRetried {
				return fmt.Errorf("%w: %w", ErrRejected, err)
			}
			authRetried = true
			continue // does not use up an attempt
		}
		lastErr = err
		if h.breaker.failure() {
			h.log.Warn("vault circuit breaker opened", zap.String("url", url), zap.Duration("cool_down", h.cfg.Breaker.CoolDown))
		}
		h.log.Warn("vault attempt failed", zap.String("url", url), zap.Int("attempt", attempt), zap.Error(err))
		if attempt == h.cfg.MaxAttempts {
			break
		}
		if err := h.sleep(ctx, h.backoff(attempt)); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		attempt++
	}
	return unavailable(fmt.Sprintf("%d attempts failed", h.cfg.MaxAttempts), lastErr)
}

func unavailable(why string, last error) error {
	if last == nil {
		return fmt.Errorf("%w: %s", ErrUnavailable, why)
	}
	return fmt.Errorf("%w: %s, last: %w", ErrUnavailable, why, last)
}

// attempt makes one request under the per-attempt timeout.
func (h *HTTP) attempt(ctx context.Context, url, idemKey string, body *secretBody, handle func([]byte) error) (outcome, error) {
	actx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, url, body.reader())
	if err != nil {
		return outcomeFinal, fmt.Errorf("vault: %w", err)
	}
	req.ContentLength = int64(len(body.buf)) // set before any wipe; body.buf's length never changes
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tonewall")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	var access string
	if h.bearer != nil {
		if access, err = h.bearer.token(actx); err != nil {
			if out := classify(err); out == outcomeFinal {
				return out, fmt.Errorf("%w: %w", ErrRejected, err)
			}
			return outcomeRetry, err
		}
		req.Header.Set("Authorization", "Bearer "+access)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return outcomeRetry, fmt.Errorf("POST %s: %w", url, transportError(err))
	}
	defer resp.Body.Close()
	buf := make([]byte, maxResponse)
	defer wipe(buf)
	n, err := readAll(resp.Body, buf)
	if err != nil {
		return outcomeRetry, fmt.Errorf("POST %s: reading response: %w", url, err)
	}
	return h.answer(resp.StatusCode, url, access, buf[:n], handle)
}

// answer maps a response to an outcome.
func (h *HTTP) answer(code int, url, access string, body []byte, handle func([]byte) error) (outcome, error) {
	se := &statusError{op: "POST " + url, code: code}
	switch {
	case code >= 200 && code < 300:
		if err := handle(body); err != nil {
			return outcomeFinal, err
		}
		return outcomeOK, nil
	case code == http.StatusUnauthorized && h.bearer != nil:
		h.bearer.invalidate(access)
		return outcomeAuthRetry, se
	case code == http.StatusNotFound:
		return outcomeFinal, fmt.Errorf("%w (%w)", ErrNotFound, se)
	case code == http.StatusConflict:
		return outcomeFinal, fmt.Errorf("%w (%w)", ErrIdempotencyConflict, se)
	case code == http.StatusTooManyRequests || code >= 500:
		return outcomeRetry, se
	default:
		return outcomeFinal, fmt.Errorf("%w: %w", ErrRejected, se)
	}
}

// classify sorts an error from the token endpoint.
func classify(err error) outcome {
	var se *statusError
	if errors.As(err, &se) && se.code < 500 && se.code != http.StatusTooManyRequests {
		return outcomeFinal
	}
	return outcomeRetry
}

// statusError is an HTTP status, without the body.
type statusError struct {
	op   string
	code int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: status %d %s", e.op, e.code, http.StatusText(e.code))
}

// transportError unwraps net/http's *url.Error, whose message repeats the URL.
func transportError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// errTooLong: a response did not fit its buffer.
var errTooLong = errors.New("response too long")

// readAll reads r into buf, failing with errTooLong if r holds more than buf.
func readAll(r io.Reader, buf []byte) (int, error) {
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return n, nil
	case err != nil:
		return n, err
	}
	var one [1]byte
	if m, _ := r.Read(one[:]); m > 0 {
		return n, fmt.Errorf("%w: longer than %d bytes", errTooLong, len(buf))
	}
	return n, nil
}

// backoff is the delay after failed attempt n (1-based): BackoffMin doubled
// n-1 times, capped at BackoffMax, then drawn from its upper half ("equal
// jitter"), so a fleet of SBCs does not retry in step.
func (h *HTTP) backoff(n int) time.Duration {
	d := h.cfg.BackoffMin
	for i := 1; i < n && d < h.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, h.cfg.BackoffMax)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseToken reads {"token":…} and refuses a token that could be card data.
func parseToken(body []byte, pan card.PAN) (string, error) {
	var resp struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("%w: not JSON", ErrBadResponse)
	}
	t := resp.Token
	if t == "" || len(t) > 64 || !printable(t) {
		return "", fmt.Errorf("%w: token missing, too long or not printable ASCII", ErrBadResponse)
	}
	if bytes.Contains([]byte(t), pan.Bytes()) || card.NewPAN([]byte(t)).Validate() == nil {
		return "", fmt.Errorf("%w: token is a card number", ErrBadResponse)
	}
	return t, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// parseCard reads {"pan":"…","expiry":"…"} into Secrets, wiping the raw
// copies json makes.
func parseCard(body []byte) (card.PAN, card.Expiry, error) {
	var resp struct {
		PAN    json.RawMessage `json:"pan"`
		Expiry json.RawMessage `json:"expiry"`
	}
	err := json.Unmarshal(body, &resp)
	defer wipe(resp.PAN)
	defer wipe(resp.Expiry)
	if err != nil {
		return card.PAN{}, card.Expiry{}, fmt.Errorf("%w: not JSON", ErrBadResponse)
	}
	pan, ok1 := quotedDigits(resp.PAN)
	exp, ok2 := quotedDigits(resp.Expiry)
	if !ok1 || len(pan) == 0 || (!ok2 && len(resp.Expiry) > 0 && string(resp.Expiry) != "null") {
		return card.PAN{}, card.Expiry{}, fmt.Errorf("%w: pan or expiry is not a string of digits", ErrBadResponse)
	}
	return card.NewPAN(pan), card.NewExpiry(exp), nil
}

// quotedDigits returns the digits inside a JSON string of digits only.
func quotedDigits(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	d := raw[1 : len(raw)-1]
	for _, c := range d {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	return d, true
}
