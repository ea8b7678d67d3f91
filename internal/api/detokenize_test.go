package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/prometheus/client_golang/prometheus"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/sip"
	"github.com/tonewall/tonewall/internal/vault"
	"github.com/tonewall/tonewall/internal/vault/vaulttest"
)

const (
	testPAN    = "4111111111111111"
	testExpiry = "1230"
	testCVV    = "737"
)

// noCalls is a tonewall without calls.
type noCalls struct{}

func (noCalls) Ready() bool                      { return true }
func (noCalls) ActiveCalls() int                 { return 0 }
func (noCalls) Calls() []sip.CallInfo            { return nil }
func (noCalls) Call(string) (sip.CallInfo, bool) { return sip.CallInfo{}, false }
func (noCalls) Trunks() []sip.TrunkInfo          { return nil }

// detokEnv is an API server with a local vault, an audit log and (unless
// off) a forwarder to a processor.
type detokEnv struct {
	base      string
	vault     *vault.Local
	auditFile string
	proc      *vaulttest.Processor
	procURL   string // its https://127.0.0.1:port
	stop      func() // ends the server (once); the test's cleanup calls it too
}

var testKeys = map[string]string{"admin-key": "admin", "agent-key": "agent", "super-key": "supervisor", "audit-key": "auditor"}

func startDetok(t *testing.T, on bool, cfg vault.DetokenizeConfig) *detokEnv {
	t.Helper()
	dir := t.TempDir()
	v, err := vault.NewLocal(vault.LocalConfig{Dir: dir}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	e := &detokEnv{vault: v, auditFile: filepath.Join(dir, "audit.log")}
	log, err := audit.Open(e.auditFile)
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	var fwd *vault.Forwarder
	if on {
		e.proc = vaulttest.NewProcessor(201, `{"id":"auth_8f2","approved":true}`)
		srv, caFile := vaulttest.StartTLS(t, e.proc)
		e.procURL = srv.URL
		if cfg.ForwardURL == "" {
			cfg.ForwardURL = srv.URL + "/authorize"
		}
		cfg.CAFile = caFile
		fwd, err = vault.NewForwarder(cfg, v)
		require.NoError(t, err)
		t.Cleanup(func() { _ = fwd.Close() })
	}
	s := New(Config{Address: "127.0.0.1:0", Keys: testAPIKeys()}, noCalls{}, nil, prometheus.NewRegistry(), zap.NewNop())
	s.SetDetokenize(fwd, log)
	e.stop = run(t, s)
	e.base = "http://" + s.Addr()
	return e
}

// testAPIKeys are testKeys as api.keys holds them: each key's holder is
// named after its role.
func testAPIKeys() []Key {
	var keys []Key
	for k, role := range testKeys {
		sum := sha256.Sum256([]byte(k))
		keys = append(keys, Key{Name: role + "-holder", SHA256: hex.EncodeToString(sum[:]), Role: Role(role)})
	}
	return keys
}

// run binds and runs s until the returned function (also the test's
// cleanup) stops it, once, and checks that Run ended cleanly.
func run(t *testing.T, s *Server) (stop func()) {
	t.Helper()
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// tokenize stores the test card with its security code.
func (e *detokEnv) tokenize(t *testing.T, captureID string) string {
	t.Helper()
	res, err := e.vault.Tokenize(context.Background(), vault.Request{CaptureID: captureID,
		PAN: card.NewPAN([]byte(testPAN)), Expiry: card.NewExpiry([]byte(testExpiry)), CVV: card.NewCVV([]byte(testCVV))})
	require.NoError(t, err)
	return res.Token
}

// post calls the detokenize endpoint and returns the status and raw answer,
// which the test scans for card data.
func (e *detokEnv) post(t *testing.T, key, token, body string) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest("POST", e.base+"/v1/tokens/"+token+"/detokenize", strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "%s", raw)
	requireNoCardDigits(t, string(raw))
	return res.StatusCode, m, string(raw)
}

func (e *detokEnv) records(t *testing.T) []audit.Record {
	t.Helper()
	b, err := os.ReadFile(e.auditFile)
	require.NoError(t, err)
	requireNoCardDigits(t, string(b))
	n, err := audit.VerifyFile(e.auditFile)
	require.NoError(t, err)
	var out []audit.Record
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r audit.Record
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		out = append(out, r)
	}
	require.Len(t, out, n)
	return out
}

var digitRun = regexp.MustCompile(`[0-9]{12,19}`)

// requireNoCardDigits fails if s holds the card's number, expiry or
// security code. Tokens (format-preserving, so they may repeat pieces of
// the PAN) and hashes are blanked first.
func requireNoCardDigits(t *testing.T, s string) {
	t.Helper()
	s = regexp.MustCompile(`"(hash|prev)":"[0-9a-f]{64}"`).ReplaceAllString(s, "")
	s = regexp.MustCompile(`"time":"[^"]*"`).ReplaceAllString(s, "")
	s = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`).ReplaceAllString(s, "127.0.0.1:PORT") // a port may spell 737
	s = digitRun.ReplaceAllStringFunc(s, func(m string) string {
		if vault.IsToken(m) {
			return "[token]"
		}
		return m
	})
	for _, secret := range []string{testPAN, testPAN[:6], testExpiry, testCVV} {
		require.NotContains(t, s, secret)
	}
}

// TestDetokenizeForwardsToTheProcessor: an admin's call sends the card to
// the configured processor, answers its status and JSON body, and is
// audited; the security code goes once, so a second call is 409.
func TestDetokenizeForwardsToTheProcessor(t *testing.T) {
	e := startDetok(t, true, vault.DetokenizeConfig{})
	token := e.tokenize(t, "cap-1")

	code, m, raw := e.post(t, "admin-key", token, `{"reference":"order-42"}`)
	require.Equal(t, http.StatusOK, code, raw)
	require.JSONEq(t, `{"token":"`+token+`","forwarded":true,"processor_status":201,"processor_body":{"id":"auth_8f2","approved":true}}`, raw)
	require.Equal(t, true, m["forwarded"])
	require.Equal(t, []string{`{"token":"` + token + `","pan":"4111111111111111","expiry":"1230","cvv":"737","reference":"order-42"}`}, e.proc.Requests())

	code, m, _ = e.post(t, "admin-key", token, "")
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, "security_code_gone", m["error"])
	require.Len(t, e.proc.Requests(), 1, "nothing sent without the security code")

	recs := e.records(t)
	require.Len(t, recs, 2)
	host := strings.TrimPrefix(e.procURL, "https://")
	require.Equal(t, audit.Record{Type: audit.Detokenized, Actor: "admin-holder", Source: "127.0.0.1", Token: audited(t, token), Outcome: "forwarded",
		Target: host, TargetStatus: 201}, stripChain(recs[0]))
	require.Equal(t, audit.Record{Type: audit.Detokenized, Actor: "admin-holder", Source: "127.0.0.1", Token: audited(t, token), Outcome: "failed",
		Reason: "security_code_gone", Target: host}, stripChain(recs[1]))
}

// audited is token as an audit record holds it: Append redacts any stretch
// of digits that validates as a card number, and a token's random digits
// sometimes spell one (about 7% of tokens, a limitation of the audit log).
func audited(t *testing.T, token string) string {
	t.Helper()
	l, err := audit.Open(filepath.Join(t.TempDir(), "scratch.log"))
	require.NoError(t, err)
	defer l.Close()
	rec, err := l.Append(audit.Record{Type: audit.Detokenized, Token: token})
	require.NoError(t, err)
	return rec.Token
}

func stripChain(r audit.Record) audit.Record {
	r.Seq, r.Time, r.Prev, r.Hash = 0, time.Time{}, "", ""
	return r
}

// TestDetokenizeAdminOnly: every other role gets 403 and leaves an
// access_denied and a detokenized/denied record; no key is 401 and an
// access_denied/unauthenticated record; nothing
// reaches the processor, and the security code stays held.
func TestDetokenizeAdminOnly(t *testing.T) {
	e := startDetok(t, true, vault.DetokenizeConfig{})
	token := e.tokenize(t, "cap-1")
	for _, key := range []string{"agent-key", "super-key", "audit-key"} {
		code, m, _ := e.post(t, key, token, `{"reference":"x"}`)
		require.Equal(t, http.StatusForbidden, code, key)
		require.Contains(t, m["error"], "may not do this")
	}
	code, _, _ := e.post(t, "", token, "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = e.post(t, "not-a-key", token, "")
	require.Equal(t, http.StatusUnauthorized, code)
	require.Empty(t, e.proc.Requests())

	recs := e.records(t)
	require.Len(t, recs, 8, "two records per refused key, one per missing or unknown key")
	for i, role := range []string{"agent", "supervisor", "auditor"} {
		require.Equal(t, audit.Record{Type: audit.AccessDenied, Actor: role + "-holder", Source: "127.0.0.1", Token: audited(t, token), Outcome: "denied",
			Reason: "POST /v1/tokens/{token}/detokenize: role " + role}, stripChain(recs[2*i]))
		require.Equal(t, audit.Record{Type: audit.Detokenized, Actor: role + "-holder", Source: "127.0.0.1", Token: audited(t, token), Outcome: "denied",
			Reason: "role " + role}, stripChain(recs[2*i+1]))
	}
	for i, why := range []string{"missing bearer API key", "unknown API key"} {
		require.Equal(t, audit.Record{Type: audit.AccessDenied, Source: "127.0.0.1", Token: audited(t, token), Outcome: "unauthenticated",
			Reason: "POST /v1/tokens/{token}/detokenize: " + why}, stripChain(recs[6+i]))
	}
	code, _, _ = e.post(t, "admin-key", token, "")
	require.Equal(t, http.StatusOK, code, "the refusals did not spend the security code")
}

// TestDetokenizeBadRequests: each mistake is a clear 4xx that repeats
// nothing of the request, and is audited as failed.
func TestDetokenizeBadRequests(t *testing.T) {
	e := startDetok(t, true, vault.DetokenizeConfig{})
	token := e.tokenize(t, "cap-1")
	tests := []struct {
		token, body string
		code        int
		errCode     string
		message     string
	}{
		{"9000000000000002", "", 404, "token_not_found", "no card is stored"},
		{testPAN, "", 400, "bad_request", "card number, not a token"},
		{token, `{"reference":`, 400, "bad_request", "not JSON"},
		{token, `{"reference":"a"} {}`, 400, "bad_request", "more than one JSON value"},
		{token, `{"` + testPAN + `":1}`, 400, "bad_request", `"reference" is the only field`},
		{token, `{"reference":4111111111111111}`, 400, "bad_request", `"reference" is a string`},
		{token, `{"reference":"` + testPAN + `"}`, 400, "bad_request", "at most 11 digits in a row"},
		{token, `{"reference":"` + strings.Repeat("a", 5000) + `"}`, 400, "bad_request", "larger than 4 KiB"},
	}
	for _, tt := range tests {
		code, m, raw := e.post(t, "admin-key", tt.token, tt.body)
		require.Equal(t, tt.code, code, raw)
		require.Equal(t, tt.errCode, m["error"], raw)
		require.Contains(t, m["message"], tt.message, raw)
	}
	require.Empty(t, e.proc.Requests())
	recs := e.records(t)
	require.Len(t, recs, len(tests))
	require.Equal(t, "", recs[1].Token, "a card number in place of a token is not recorded")
	for i, r := range recs {
		require.Equal(t, audit.Detokenized, r.Type)
		require.Equal(t, "failed", r.Outcome)
		require.Equal(t, tests[i].errCode, r.Reason)
	}
}

// TestDetokenizeProcessorAnswers: whatever the processor answers is passed
// on with its status, as JSON or text, unless it may hold card data.
func TestDetokenizeProcessorAnswers(t *testing.T) {
	e := startDetok(t, true, vault.DetokenizeConfig{})
	tests := []struct {
		status int
		answer string
		want   string
	}{
		{402, `{"declined":"insufficient_funds"}`, `{"forwarded":true,"processor_status":402,"processor_body":{"declined":"insufficient_funds"}}`},
		{200, "APPROVED 0042", `{"forwarded":true,"processor_status":200,"processor_body":"APPROVED 0042"}`},
		{200, `{"echo":"4111111111111111"}`, `{"forwarded":true,"processor_status":200,"processor_body_withheld":true,"processor_body_withheld_reason":"card_data"}`},
		{500, "", `{"forwarded":true,"processor_status":500}`},
	}
	for i, tt := range tests {
		e.proc.Answer(tt.status, tt.answer)
		token := e.tokenize(t, "cap-"+string(rune('a'+i)))
		code, _, raw := e.post(t, "admin-key", token, "")
		require.Equal(t, http.StatusOK, code, raw)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &got))
		delete(got, "token")
		b, _ := json.Marshal(got)
		require.JSONEq(t, tt.want, string(b))
	}
	recs := e.records(t)
	require.Equal(t, "processor_body_withheld:card_data", recs[2].Reason)
	require.Equal(t, 500, recs[3].TargetStatus)
}

// TestDetokenizeProcessorUnavailable: no answer is 502 processor_unavailable.
func TestDetokenizeProcessorUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	e := startDetok(t, true, vault.DetokenizeConfig{ForwardURL: url, Timeout: 200 * time.Millisecond})
	code, m, raw := e.post(t, "admin-key", e.tokenize(t, "cap-1"), "")
	require.Equal(t, http.StatusBadGateway, code, raw)
	require.Equal(t, "processor_unavailable", m["error"])
	recs := e.records(t)
	require.Equal(t, "processor_unavailable", recs[0].Reason)
	require.Equal(t, ln.Addr().String(), recs[0].Target)
}

// TestDetokenizeOff: without vault.detokenize.forward_url the endpoint
// answers 501 detokenization_disabled, audited.
func TestDetokenizeOff(t *testing.T) {
	e := startDetok(t, false, vault.DetokenizeConfig{})
	code, m, _ := e.post(t, "admin-key", e.tokenize(t, "cap-1"), "")
	require.Equal(t, http.StatusNotImplemented, code)
	require.Equal(t, "detokenization_disabled", m["error"])
	require.Contains(t, m["message"], "vault.detokenize.forward_url")
	code, _, _ = e.post(t, "agent-key", "9000000000000002", "")
	require.Equal(t, http.StatusForbidden, code, "the role check comes first")
	recs := e.records(t)
	require.Len(t, recs, 3)
	require.Equal(t, "detokenization_disabled", recs[0].Reason)
}
