package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// apiKeys are the API's keys: agent-key (agent), super-key (supervisor)
// and one auditor's.
func apiKeys() sbc.API {
	return sbc.API{Keys: []sbc.APIKey{sbc.Key("desk", "agent-key", "agent"), sbc.Key("floor", "super-key", "supervisor"),
		{Name: "books", SHA256: "4b757dbf2a80635aa58493a3d99640445d25a375b85befb1ea3b7c3c55feabf8", Role: "auditor"}}}
}

func apiGet(t *testing.T, s *sbc.SBC, key, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.App.API.Addr()+path, nil)
	must(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, b := apiRoundTrip(t, req)
	return res.StatusCode, string(b)
}

// TestAPICalls: the calls in progress, by role; unknown call 404; no key 401.
func TestAPICalls(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{API: apiKeys()})
	carrier, cc, s := p.carrier, p.cc, p.s
	sess, _ := p.call(t, ctx10(t))
	inv := cc.Received("INVITE")[0]
	id := inv.GetHeader("X-Tonewall-Call-ID").Value()

	if code, _ := apiGet(t, s, "", "/v1/calls"); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	if code, _ := apiGet(t, s, "wrong", "/v1/calls"); code != 401 {
		t.Fatalf("unknown key: %d", code)
	}
	if code, _ := apiGet(t, s, "agent-key", "/v1/calls"); code != 403 {
		t.Fatalf("agent listing calls: %d, want 403", code)
	}
	code, body := apiGet(t, s, "super-key", "/v1/calls")
	var list struct{ Calls []map[string]any }
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Calls) != 1 || list.Calls[0]["id"] != id {
		t.Fatalf("list: %d %s", code, body)
	}
	for _, ref := range []string{id, inv.CallID().Value()} {
		if code, body := apiGet(t, s, "agent-key", "/v1/calls/"+ref); code != 200 || !strings.Contains(body, id) {
			t.Fatalf("get by %q: %d %s", ref, code, body)
		}
	}
	if strings.Contains(body, carrier.SentInvite().CallID().Value()) {
		t.Fatal("the carrier's Call-ID leaked through the API")
	}
	if code, _ := apiGet(t, s, "agent-key", "/v1/calls/nope"); code != 404 {
		t.Fatalf("unknown call: %d", code)
	}
	must(t, sess.Bye(ctx10(t)))
	s.WaitCalls(t, 0)
}
