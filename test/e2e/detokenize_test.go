package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/vault"
	"github.com/tonewall/tonewall/internal/vault/vaulttest"
)

// TestDetokenizeCapturedCard: a caller keys a card during a real call; the
// admin API then detokenizes its token to the one processor configured,
// which receives exactly that card over TLS. An agent's key is refused, a
// second call finds the security code spent (409), an unknown token is 404;
// no API answer, log line, SIP message, audit record or vault file holds
// the card, and the audit chain verifies.
func TestDetokenizeCapturedCard(t *testing.T) {
	proc := vaulttest.NewProcessor(201, `{"authorization":"auth_e2e","approved":true}`)
	srv, caFile := vaulttest.StartTLS(t, proc)
	bearerFile := filepath.Join(t.TempDir(), "processor-token")
	must(t, os.WriteFile(bearerFile, []byte("sk_e2e_processor\n"), 0o600))
	vaultDir := t.TempDir()
	u := callUp(t, func(o *sbc.Options) {
		o.Vault = sbc.M{"local": sbc.M{"dir": vaultDir}, "detokenize": sbc.M{"forward_url": srv.URL + "/v1/authorize",
			"ca_file": caFile, "bearer_token_file": bearerFile}}
		o.API.Keys = append(o.API.Keys, sbc.Key("ops", "admin-key", "admin"))
	})
	s := u.s

	tx := u.sender(t)
	tx.silence(t, 5)
	cid := openCapture(t, s, u.callID)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		tx.key(t, byte(k))
	}
	tx.silence(t, 5)
	st := waitCapture(t, s, u.callID, cid)
	token, _ := st["token"].(string)
	if st["state"] != "tokenized" || !vault.IsToken(token) {
		t.Fatalf("capture ended %v", st)
	}
	path := "/v1/tokens/" + token + "/detokenize"

	var answers []map[string]any
	call := func(key, path, body string, want int) map[string]any {
		t.Helper()
		code, m := apiDo(t, s, "POST", key, path, body)
		if code != want {
			t.Fatalf("POST %s as %s: %d %v, want %d", path, key, code, m, want)
		}
		answers = append(answers, m)
		return m
	}
	call("agent-key", path, `{"reference":"order-42"}`, 403)
	if n := len(proc.Requests()); n != 0 {
		t.Fatalf("an agent's call reached the processor %d times", n)
	}
	m := call("admin-key", path, `{"reference":"order-42"}`, 200)
	if m["token"] != token || m["forwarded"] != true || m["processor_status"] != 201.0 {
		t.Fatalf("detokenize answered %v", m)
	}
	if b, ok := m["processor_body"].(map[string]any); !ok || b["authorization"] != "auth_e2e" {
		t.Fatalf("processor body not passed on: %v", m)
	}
	want := `{"token":"` + token + `","pan":"` + testPAN + `","expiry":"` + testExpiry + `","cvv":"` + testCVV + `","reference":"order-42"}`
	if got := proc.Requests(); len(got) != 1 || got[0] != want {
		t.Fatalf("the processor received %q, want [%q]", got, want)
	}
	if h := proc.Headers()[0]; h.Get("Authorization") != "Bearer sk_e2e_processor" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("processor request headers: %v", h)
	}
	if m := call("admin-key", path, "", 409); m["error"] != "security_code_gone" {
		t.Fatalf("second detokenize: %v", m)
	}
	call("admin-key", "/v1/tokens/9000000000000002/detokenize", "", 404)
	if n := len(proc.Requests()); n != 1 {
		t.Fatalf("the processor received %d requests, want 1", n)
	}

	must(t, u.sess.Bye(ctx10(t)))
	s.WaitCalls(t, 0)
	scanForCard(t, s, u.cc)
	checkDetokenizeAudit(t, s, token, hostOf(t, srv.URL))
	answersJSON, err := json.Marshal(answers)
	must(t, err)
	scanDetokenizeOutput(t, "API answers", string(answersJSON), []string{token}, testPAN, testPAN[:6], testExpiry, testCVV)
	files, _ := filepath.Glob(filepath.Join(vaultDir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		scanDetokenizeOutput(t, f, string(b), []string{token}, testPAN, testPAN[:6], testPAN[6:12])
	}
}

func hostOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	must(t, err)
	return u.Host
}

// checkDetokenizeAudit: the audit log verifies and records, in order, the
// agent's refusal (access_denied and detokenized/denied), the forward, the
// 409 and the 404 (T: the captured card's token), none with card data.
func checkDetokenizeAudit(t *testing.T, s *sbc.SBC, token, host string) {
	t.Helper()
	file := filepath.Join(s.DataDir, "audit.log")
	if _, err := audit.VerifyFile(file); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	b, err := os.ReadFile(file)
	must(t, err)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r audit.Record
		must(t, json.Unmarshal([]byte(line), &r))
		if r.Type != audit.Detokenized && r.Type != audit.AccessDenied {
			continue
		}
		tok := r.Token
		if tok == auditedToken(t, token) {
			tok = "T"
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s %d", r.Type, r.Actor, tok, r.Outcome, r.Reason, r.Target, r.TargetStatus))
		scanDetokenizeOutput(t, "audit record", fmt.Sprint(r.Actor, r.Outcome, r.Reason, r.Target), nil, testPAN, testPAN[:6], testExpiry, testCVV)
	}
	want := []string{
		"access_denied desk T denied POST /v1/tokens/{token}/detokenize: role agent  0",
		"detokenized desk T denied role agent  0",
		"detokenized ops T forwarded  " + host + " 201",
		"detokenized ops T failed security_code_gone " + host + " 0",
		"detokenized ops 9000000000000002 failed token_not_found " + host + " 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("detokenize audit records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// auditedToken is token as the audit log keeps it: Append redacts a digit
// stretch that validates as a card number, which a token's random digits
// sometimes spell.
func auditedToken(t *testing.T, token string) string {
	l, err := audit.Open(filepath.Join(t.TempDir(), "scratch.log"))
	must(t, err)
	defer l.Close()
	rec, err := l.Append(audit.Record{Type: audit.Detokenized, Token: token})
	must(t, err)
	return rec.Token
}

var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// scanDetokenizeOutput fails if text holds any of secrets once tokens (those
// in text and the known ones) and loopback ports (which may spell 737 or 1230
// by chance) are blanked.
func scanDetokenizeOutput(t *testing.T, what, text string, tokens []string, secrets ...string) {
	t.Helper()
	text = loopbackPort.ReplaceAllString(text, "127.0.0.1:PORT")
	text = blankTokens(text, tokens...)
	for _, sec := range secrets {
		if i := strings.Index(text, sec); i >= 0 {
			t.Errorf("card digits %q found in %s: …%q…", sec, what, text[max(0, i-80):min(len(text), i+80)])
		}
	}
}
