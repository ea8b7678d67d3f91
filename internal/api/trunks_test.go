package api

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/sip"
)

// oneTrunk is a tonewall with one trunk, its first target down.
type oneTrunk struct{ noCalls }

func (oneTrunk) Trunks() []sip.TrunkInfo {
	return []sip.TrunkInfo{{Name: "carrier", Role: "carrier", DTMF: "rfc4733",
		Listener: sip.ListenerInfo{Name: "carrier", Transport: "tls", Address: "127.0.0.1:5061"},
		TLS:      &sip.TLSInfo{MinVersion: "1.2", MutualTLS: true, VerifyServer: true},
		SRTP:     sip.SRTPInfo{Mode: "required", Suites: []string{"AES_CM_128_HMAC_SHA1_80"}, KeyExchange: "sdes"},
		Targets:  []sip.TargetHealth{{URI: "sip:192.0.2.1", Pinged: true, Up: false}, {URI: "sip:192.0.2.2", Pinged: true, Up: true}}}}
}

// GET /v1/trunks: the auditor's and the admin's; an agent's or a
// supervisor's key is refused 403, no key 401.
func TestTrunksForAuditors(t *testing.T) {
	leakCheck(t)
	e := startEdge(t, Config{}, oneTrunk{}, nil)
	for key, want := range map[string]int{"audit-key": 200, "admin-key": 200, "agent-key": 403, "super-key": 403, "": 401} {
		auth := ""
		if key != "" {
			auth = "Bearer " + key
		}
		code, body := e.get(t, "/v1/trunks", auth)
		require.Equal(t, want, code, "key %q: %s", key, body)
		if code != 200 {
			continue
		}
		var got struct{ Trunks []sip.TrunkInfo }
		require.NoError(t, json.Unmarshal([]byte(body), &got), body)
		require.Len(t, got.Trunks, 1)
		tr := got.Trunks[0]
		require.Equal(t, "tls", tr.Listener.Transport)
		require.True(t, tr.TLS != nil && tr.TLS.MutualTLS, body)
		require.Equal(t, "required", tr.SRTP.Mode)
		require.Len(t, tr.Targets, 2)
		require.False(t, tr.Targets[0].Up, body)
	}

	none := startEdge(t, Config{}, noCalls{}, nil)
	code, body := none.get(t, "/v1/trunks", "Bearer audit-key")
	require.Equal(t, 200, code)
	require.JSONEq(t, `{"trunks":[]}`, body)
}
