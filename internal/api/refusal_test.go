package api

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/vault"
)

// unknownKey is a bearer key no api.keys entry hashes to.
const unknownKey = "tw_unknown_Zq8xv2"

// oneShot sends each request on a connection of its own, closed after.
// Requests racing on a keep-alive client make it dial connections it then
// leaves unused, which hold up the server's shutdown for 5 s.
var oneShot = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// send makes one request to the running server with authorization as the
// Authorization header (none when "") and returns the status, or 0 after
// reporting an error; it may run on any goroutine. The answer must hold no
// card digits.
func (e *detokEnv) send(t *testing.T, method, path, authorization, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := oneShot.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Error(err)
		return 0
	}
	if digitRun.MatchString(string(raw)) {
		t.Errorf("%s %s answered a run of digits: %s", method, path, raw)
	}
	return res.StatusCode
}

// refused is the access_denied record of a refusal, from the test's
// client on loopback.
func refused(actor, outcome, reason string) audit.Record {
	return audit.Record{Type: audit.AccessDenied, Actor: actor, Source: "127.0.0.1", Outcome: outcome, Reason: reason}
}

// TestRefusalsAudited: on every guarded route, a key whose role may not
// call it (403) and a missing or unknown key (401) each leave one
// access_denied record naming the route and method, and the key's name and
// role when the key is known; never the key, the path as sent, or the body.
// Calls that are let through, and unguarded endpoints, leave none. The chain
// verifies.
func TestRefusalsAudited(t *testing.T) {
	e := startDetok(t, false, vault.DetokenizeConfig{})
	pan := `{"fields":["pan"],"pan":"` + testPAN + `","cvv":"` + testCVV + `"}`
	tests := []struct {
		method, path, authorization, body string
		code                              int
		want                              []audit.Record // nil: not audited
	}{
		// 403: the key is known, its role is not enough.
		{"GET", "/v1/calls", "Bearer agent-key", "", 403, []audit.Record{refused("agent-holder", "denied", "GET /v1/calls: role agent")}},
		{"GET", "/v1/calls", "Bearer audit-key", "", 403, []audit.Record{refused("auditor-holder", "denied", "GET /v1/calls: role auditor")}},
		{"GET", "/v1/calls/c-7", "Bearer audit-key", "", 403, []audit.Record{refused("auditor-holder", "denied", "GET /v1/calls/{id}: role auditor")}},
		{"POST", "/v1/calls/" + testPAN + "/captures", "Bearer audit-key", pan, 403, []audit.Record{refused("auditor-holder", "denied", "POST /v1/calls/{id}/captures: role auditor")}},
		{"GET", "/v1/calls/c-7/captures/k-7", "Bearer audit-key", "", 403, []audit.Record{refused("auditor-holder", "denied", "GET /v1/calls/{id}/captures/{cid}: role auditor")}},
		{"DELETE", "/v1/calls/c-7/captures/k-7", "Bearer audit-key", "", 403, []audit.Record{refused("auditor-holder", "denied", "DELETE /v1/calls/{id}/captures/{cid}: role auditor")}},
		{"POST", "/v1/calls/c-7/captures/k-7/retry", "Bearer audit-key", `{"field":"cvv"}`, 403, []audit.Record{refused("auditor-holder", "denied", "POST /v1/calls/{id}/captures/{cid}/retry: role auditor")}},
		{"GET", "/v1/events", "Bearer audit-key", "", 403, []audit.Record{refused("auditor-holder", "denied", "GET /v1/events: role auditor")}},
		// detokenize's refusal goes through the same record, then adds its own.
		{"POST", "/v1/tokens/9000000000000002/detokenize", "Bearer super-key", "", 403, []audit.Record{
			{Type: audit.AccessDenied, Actor: "supervisor-holder", Source: "127.0.0.1", Token: "9000000000000002", Outcome: "denied", Reason: "POST /v1/tokens/{token}/detokenize: role supervisor"},
			{Type: audit.Detokenized, Actor: "supervisor-holder", Source: "127.0.0.1", Token: "9000000000000002", Outcome: "denied", Reason: "role supervisor"},
		}},

		// 401: no key, or one tonewall does not know; there is no name or role to record.
		{"GET", "/v1/calls", "", "", 401, []audit.Record{refused("", "unauthenticated", "GET /v1/calls: missing bearer API key")}},
		{"GET", "/v1/calls/c-7", "Basic YWRtaW46aHVudGVyMg==", "", 401, []audit.Record{refused("", "unauthenticated", "GET /v1/calls/{id}: missing bearer API key")}},
		{"POST", "/v1/calls/c-7/captures", "Bearer ", pan, 401, []audit.Record{refused("", "unauthenticated", "POST /v1/calls/{id}/captures: missing bearer API key")}},
		{"DELETE", "/v1/calls/c-7/captures/k-7", "Bearer " + unknownKey, "", 401, []audit.Record{refused("", "unauthenticated", "DELETE /v1/calls/{id}/captures/{cid}: unknown API key")}},
		{"GET", "/v1/events", "Bearer " + testPAN, "", 401, []audit.Record{refused("", "unauthenticated", "GET /v1/events: unknown API key")}},

		// Let through, or not guarded: no record.
		{"GET", "/v1/calls", "Bearer super-key", "", 200, nil},
		{"GET", "/v1/calls/c-7", "Bearer agent-key", "", 404, nil},
		{"GET", "/healthz", "", "", 200, nil},
		{"GET", "/v1/nowhere", "Bearer " + unknownKey, "", 404, nil},
	}
	var want []audit.Record
	for _, tt := range tests {
		require.Equal(t, tt.code, e.send(t, tt.method, tt.path, tt.authorization, tt.body), "%s %s", tt.method, tt.path)
		want = append(want, tt.want...)
	}

	recs := e.records(t) // verifies the chain and scans the log for card data
	got := make([]audit.Record, len(recs))
	for i, r := range recs {
		got[i] = stripChain(r)
	}
	require.Equal(t, want, got)

	b, err := os.ReadFile(e.auditFile)
	require.NoError(t, err)
	unknownSum := sha256.Sum256([]byte(unknownKey))
	for _, never := range []string{"agent-key", "audit-key", "super-key", unknownKey, hex.EncodeToString(unknownSum[:]),
		"YWRtaW46", "hunter2", "c-7", "k-7", `"fields"`} {
		require.NotContains(t, string(b), never, "the audit log holds a key, the path as sent or a body")
	}
}

// TestRefusalsAuditedConcurrently: refusals racing on several routes each
// leave their record and the chain still verifies.
func TestRefusalsAuditedConcurrently(t *testing.T) {
	e := startDetok(t, false, vault.DetokenizeConfig{})
	paths := []string{"/v1/calls", "/v1/calls/c-1", "/v1/events", "/v1/calls/c-1/captures/k-1"}
	auths := []string{"", "Bearer " + unknownKey, "Bearer audit-key"}
	const perWorker = 5
	var wg sync.WaitGroup
	for _, p := range paths {
		for _, a := range auths {
			wg.Go(func() {
				for range perWorker {
					if code := e.send(t, "GET", p, a, ""); code != 401 && code != 403 {
						t.Errorf("GET %s with %q: %d", p, a, code)
					}
				}
			})
		}
	}
	wg.Wait()
	recs := e.records(t)
	require.Len(t, recs, len(paths)*len(auths)*perWorker)
	n, err := audit.VerifyFile(e.auditFile)
	require.NoError(t, err)
	require.Equal(t, len(recs), n)
	for _, r := range recs {
		require.Equal(t, audit.AccessDenied, r.Type)
	}
}
