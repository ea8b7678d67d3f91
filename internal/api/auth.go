package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/tonewall/tonewall/internal/audit"
)

// Role is what a key may do. Each role includes the ones before it, except
// auditor, which only reads the audit log.
type Role string

const (
	RoleAgent      Role = "agent"      // captures on calls
	RoleSupervisor Role = "supervisor" // + list calls
	RoleAuditor    Role = "auditor"    // the audit log, the trunks' posture
	RoleAdmin      Role = "admin"      // everything, detokenization included
)

// anyRole is the need of a route open to every key.
const anyRole Role = ""

// allows reports whether a key of role r may act as need.
func (r Role) allows(need Role) bool {
	if need == anyRole {
		return true
	}
	switch r {
	case RoleAdmin:
		return true
	case RoleSupervisor:
		return need == RoleSupervisor || need == RoleAgent
	default:
		return r == need
	}
}

type key struct {
	name string
	sum  [sha256.Size]byte
	role Role
}

// Principal is who made a request.
type Principal struct {
	Name string
	Role Role
}

type principalKey struct{}

// PrincipalOf returns the authenticated caller of a request.
func PrincipalOf(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

func parseKeys(ks []Key) []key {
	out := make([]key, 0, len(ks))
	for _, k := range ks {
		var sum [sha256.Size]byte
		b, err := hex.DecodeString(strings.ToLower(k.SHA256))
		if err != nil || len(b) != sha256.Size {
			continue // ValidateKeys refuses these
		}
		copy(sum[:], b)
		out = append(out, key{name: k.Name, sum: sum, role: k.Role})
	}
	return out
}

// SetKeys puts a new list of keys in force at once: a request is checked
// against the old list or the new one, never a mix, and a key that is no
// longer listed fails its next request with 401. keys must have passed
// ValidateKeys.
func (s *Server) SetKeys(keys []Key) {
	ks := parseKeys(keys)
	s.keys.Store(&ks)
}

// lookup finds the key whose hash matches the bearer token, comparing every
// key in constant time.
func (s *Server) lookup(token string) (Principal, bool) {
	sum := sha256.Sum256([]byte(token))
	var found Principal
	ok := false
	for _, k := range *s.keys.Load() {
		if subtle.ConstantTimeCompare(sum[:], k.sum[:]) == 1 {
			found, ok = Principal{Name: k.name, Role: k.role}, true
		}
	}
	return found, ok
}

// require wraps a handler with bearer-key authentication and a role check.
// Every refusal is audited (see auditRefusal).
func (s *Server) require(need Role, h http.HandlerFunc) http.HandlerFunc {
	return s.guard(need, h, nil)
}

// outcomeUnauthenticated is the outcome of the access_denied record of a
// 401: no bearer key, or one that no api.keys entry hashes to. A 403's is
// outcomeDenied, the key's role may not do this.
const outcomeUnauthenticated = "unauthenticated"

// guard is require with a hook, when not nil, called after the
// access_denied record of a 403 to add the route's own records (detokenize
// adds a detokenized/denied one, so that its records alone list every
// attempt). 401s are audited through the refusal gate (refusal_gate.go).
func (s *Server) guard(need Role, h http.HandlerFunc, denied func(Principal, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		unauthenticated := func(why string) {
			w.Header().Set("Connection", "close") // a stranger does not keep a connection
			if write, note := s.refusals.admit(time.Now()); write {
				s.auditRefusal(r, Principal{}, outcomeUnauthenticated, why+note)
			}
			writeError(w, http.StatusUnauthorized, why)
		}
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tonewall"`)
			unauthenticated("missing bearer API key")
			return
		}
		p, ok := s.lookup(token)
		if !ok {
			unauthenticated("unknown API key")
			return
		}
		if !p.Role.allows(need) {
			s.auditRefusal(r, p, outcomeDenied, "role "+string(p.Role))
			if denied != nil {
				denied(p, r)
			}
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusForbidden, "role "+string(p.Role)+" may not do this")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// bearer is the key of an Authorization header in the Bearer scheme,
// whose name is case-insensitive (RFC 7235 section 2.1): "bearer KEY" and
// "BEARER KEY" too.
func bearer(header string) (string, bool) {
	scheme, token, _ := strings.Cut(header, " ")
	token = strings.TrimLeft(token, " ")
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

// auditRefusal writes the access_denied record of a refused request: the
// route as registered (method and pattern, e.g. "GET /v1/calls/{id}") and
// why in Reason, the key's name in Actor when the key is known (its role is
// in why), and the path's {token} when it is one (auditToken). Nothing else
// of the request goes in: not the key, not the path as sent, not the body.
// Every field is bounded, so a record stays small whatever the request.
func (s *Server) auditRefusal(r *http.Request, p Principal, outcome, why string) {
	s.appendAudit(audit.Record{Type: audit.AccessDenied, Actor: p.Name, Source: clientIP(r), Token: auditToken(r.PathValue("token")),
		Outcome: outcome, Reason: r.Pattern + ": " + why})
}

// clientIP is the address of the API client a request came from, for the
// audit log (PCI DSS 10.2: where an event came from): the connection's
// peer, without its port. A proxy in front of the API shows as itself;
// forwarded-for headers are the client's word and are not taken.
func clientIP(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	return ""
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// writeProblem answers an error with a code a program can act on and a
// message for people: {"error":"<code>","message":"…"}.
func writeProblem(w http.ResponseWriter, code int, errCode, msg string) {
	writeJSON(w, code, map[string]string{"error": errCode, "message": msg})
}
