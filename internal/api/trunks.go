package api

import (
	"net/http"

	"github.com/tonewall/tonewall/internal/sip"
)

// listTrunks answers GET /v1/trunks: each trunk's security posture
// (transport, TLS, SRTP, DTMF, capture policy, caps, sources) and the
// health of its targets, for an auditor or an admin.
func (s *Server) listTrunks(w http.ResponseWriter, _ *http.Request) {
	trunks := s.status.Trunks()
	if trunks == nil {
		trunks = []sip.TrunkInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"trunks": trunks})
}
