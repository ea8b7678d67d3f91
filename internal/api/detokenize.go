package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/vault"
)

// Detokenization (issue #5): POST /v1/tokens/{token}/detokenize, admin only.
// tonewall detokenizes the token and POSTs the card to the one payment
// processor endpoint of vault.detokenize (vault.Forwarder); the caller gets
// only the processor's status and, when it holds no card data, its answer.
// Every call, refused or failed included, is written to the audit log.

// Outcomes of a detokenized audit record.
const (
	outcomeForwarded = "forwarded" // the processor answered (any status)
	outcomeFailed    = "failed"    // nothing reached the processor, or it did not answer
	outcomeDenied    = "denied"    // the key's role may not detokenize
)

// maxDetokenizeBody bounds the request body, {"reference":"…"}.
const maxDetokenizeBody = 4 << 10

type detokenizer struct {
	fwd   *vault.Forwarder // nil: detokenization is off
	audit *audit.Log
}

// SetDetokenize gives the server the forwarder (nil when vault.detokenize
// has no forward_url) and the audit log every detokenize call, and every
// refused call to any route (see guard), is written to. Without an audit
// log, detokenization stays off. It logs the proxy, if any, the forwarder
// goes through. Call it before Run.
func (s *Server) SetDetokenize(fwd *vault.Forwarder, log *audit.Log) {
	s.detok = detokenizer{fwd: fwd, audit: log}
	if fwd != nil {
		fwd.LogProxy(s.log)
	}
}

func (s *Server) routesTokens(mux *routeMux) {
	mux.HandleFunc("POST /v1/tokens/{token}/detokenize", s.guard(RoleAdmin, s.detokenize, s.detokenizeDenied))
}

// detokenizeResponse is the 200 answer: the processor's status, and its
// answer as JSON (or a string when not JSON) unless withheld.
type detokenizeResponse struct {
	Token           string `json:"token"`
	Forwarded       bool   `json:"forwarded"`
	ProcessorStatus int    `json:"processor_status"`
	ProcessorBody   any    `json:"processor_body,omitempty"`
	Withheld        bool   `json:"processor_body_withheld,omitempty"`
	WithheldReason  string `json:"processor_body_withheld_reason,omitempty"` // too_long, card_data, unreadable
}

func (s *Server) detokenize(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	rec := audit.Record{Type: audit.Detokenized, Actor: PrincipalOf(r.Context()).Name, Source: clientIP(r), Token: auditToken(token), Outcome: outcomeFailed}
	fwd := s.detok.fwd
	if fwd == nil || s.detok.audit == nil {
		s.detokenizeFailed(w, rec, http.StatusNotImplemented, "detokenization_disabled",
			"detokenization is off: set vault.detokenize.forward_url in the configuration")
		return
	}
	rec.Target = fwd.Host()
	ref, problem := readReference(w, r)
	if problem != "" {
		s.detokenizeFailed(w, rec, http.StatusBadRequest, "bad_request", `request body: want none or {"reference":"order-42"}: `+problem)
		return
	}
	res, err := fwd.Forward(r.Context(), token, ref)
	if err != nil {
		code, errCode, msg := detokenizeError(err)
		if code >= 500 {
			s.log.Warn("detokenize failed", zap.String("actor", rec.Actor), zap.String("reason", errCode), zap.Error(err))
		}
		s.detokenizeFailed(w, rec, code, errCode, msg)
		return
	}
	rec.Outcome, rec.TargetStatus = outcomeForwarded, res.Status
	if res.Withheld != "" {
		rec.Reason = "processor_body_withheld:" + res.Withheld
	}
	s.appendAudit(rec)
	s.log.Info("detokenized and forwarded", zap.String("actor", rec.Actor), zap.String("token", token),
		zap.String("processor", rec.Target), zap.Int("processor_status", res.Status), zap.String("withheld", res.Withheld))
	out := detokenizeResponse{Token: token, Forwarded: true, ProcessorStatus: res.Status,
		Withheld: res.Withheld != "", WithheldReason: res.Withheld}
	switch {
	case res.Body == nil:
	case res.JSON:
		out.ProcessorBody = json.RawMessage(res.Body)
	default:
		out.ProcessorBody = string(res.Body)
	}
	writeJSON(w, http.StatusOK, out)
}

// detokenizeDenied audits a key whose role may not detokenize a second
// time: after the access_denied record guard writes of every refused call,
// a detokenized record with outcome denied, so that the detokenized records
// alone list every attempt.
func (s *Server) detokenizeDenied(p Principal, r *http.Request) {
	s.appendAudit(audit.Record{Type: audit.Detokenized, Actor: p.Name, Source: clientIP(r), Token: auditToken(r.PathValue("token")),
		Outcome: outcomeDenied, Reason: "role " + string(p.Role)})
}

// detokenizeFailed audits and answers a call that sent nothing, or whose
// processor did not answer. reason is both the audit reason and the
// answer's "error".
func (s *Server) detokenizeFailed(w http.ResponseWriter, rec audit.Record, code int, reason, msg string) {
	rec.Reason = reason
	s.appendAudit(rec)
	writeProblem(w, code, reason, msg)
}

func (s *Server) appendAudit(rec audit.Record) {
	if s.detok.audit == nil {
		s.log.Error("no audit log for an audited call", zap.String("type", string(rec.Type)), zap.String("actor", rec.Actor))
		return
	}
	if _, err := s.detok.audit.Append(rec); err != nil {
		s.log.Error("audit log append failed", zap.String("type", string(rec.Type)), zap.String("actor", rec.Actor), zap.Error(err))
	}
}

// auditToken is the path's token as the audit log may hold it: "" when it
// is no token at all (too long, not printable, a card number).
func auditToken(token string) string {
	if vault.CheckToken(token) != nil {
		return ""
	}
	return token
}

// detokenizeError maps a Forward error to a status, an error code and a
// message. None repeats the token or the request.
func detokenizeError(err error) (code int, errCode, msg string) {
	switch {
	case errors.Is(err, vault.ErrInvalidRequest):
		return http.StatusBadRequest, "bad_request", strings.TrimPrefix(err.Error(), vault.ErrInvalidRequest.Error()+": ")
	case errors.Is(err, vault.ErrNotFound):
		return http.StatusNotFound, "token_not_found", "no card is stored under this token; nothing was sent"
	case errors.Is(err, vault.ErrNoCVV):
		return http.StatusConflict, "security_code_gone", "the security code is no longer held (not captured, already sent, or older than vault.local.cvv_ttl); nothing was sent"
	case errors.Is(err, vault.ErrProcessorUnavailable):
		return http.StatusBadGateway, "processor_unavailable", err.Error()
	case errors.Is(err, vault.ErrUnavailable), errors.Is(err, vault.ErrClosed):
		return http.StatusServiceUnavailable, "vault_unavailable", "the vault could not be reached; nothing was sent"
	}
	return http.StatusInternalServerError, "internal", "detokenization failed; tonewall's log says why"
}

// readReference reads the optional body. It names what is wrong without
// repeating any of the body (which could hold anything).
func readReference(w http.ResponseWriter, r *http.Request) (ref, problem string) {
	var req struct {
		Reference string `json:"reference"`
	}
	err := decodeOne(http.MaxBytesReader(w, r.Body, maxDetokenizeBody), &req)
	switch {
	case errors.Is(err, io.EOF):
		return "", "" // no body: no reference
	case errors.Is(err, errTrailing):
		return "", "more than one JSON value"
	case err == nil:
		return req.Reference, ""
	}
	var (
		tooLong *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLong):
		return "", "larger than 4 KiB"
	case errors.As(err, &typeErr):
		return "", `not an object whose "reference" is a string`
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "", `"reference" is the only field`
	}
	return "", "not JSON"
}
