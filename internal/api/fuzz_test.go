package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/sip"
	"github.com/tonewall/tonewall/internal/vault"
)

// oneCall is a tonewall with one call, known by its id and by the contact
// center's Call-ID.
type oneCall struct{ noCalls }

func (oneCall) Call(id string) (sip.CallInfo, bool) {
	if id == "call-1" || id == "cc-7f3a@tonewall" {
		return sip.CallInfo{ID: "call-1", State: "confirmed"}, true
	}
	return sip.CallInfo{}, false
}

// fuzzAPI is the control API with a capture point on call-1, served
// without a socket.
func fuzzAPI(f *testing.F) (http.Handler, *capture.Service) {
	cfg := capture.Config{}
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}
	v, err := vault.NewLocal(vault.LocalConfig{Dir: f.TempDir()}, zap.NewNop())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = v.Close() })
	caps := capture.NewService(cfg, v, nil, nil, zap.NewNop())
	if _, err := caps.Attach("call-1", capture.Point{Policy: "api"}); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { caps.Detach("call-1") })
	var keys []Key
	for k, role := range testKeys {
		sum := sha256.Sum256([]byte(k))
		keys = append(keys, Key{Name: role + "-holder", SHA256: hex.EncodeToString(sum[:]), Role: Role(role)})
	}
	s := New(Config{Address: "127.0.0.1:0", Keys: keys}, oneCall{}, caps, prometheus.NewRegistry(), zap.NewNop())
	return s.http.Handler, caps
}

// fuzzRoutes are the routes that read a path id or a body, as templates
// of method and path; {id}, {cid} and {token} are filled from the input.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/calls/{id}/captures"},
	{"POST", "/v1/calls/{id}/captures/{cid}/retry"},
	{"GET", "/v1/calls/{id}/captures/{cid}"},
	{"DELETE", "/v1/calls/{id}/captures/{cid}"},
	{"GET", "/v1/calls/{id}"},
	{"POST", "/v1/tokens/{token}/detokenize"},
}

var fuzzBearers = []string{"Bearer agent-key", "Bearer admin-key", "Bearer audit-key", "Bearer nobody", "", "Basic YWdlbnQ6a2V5"}

// panRun is a run of digits as long as a card number's shortest;
// captureID is a capture's id, random hex that may hold such a run.
var (
	panRun    = regexp.MustCompile(`[0-9]{12,}`)
	captureID = regexp.MustCompile(`cap_[0-9a-f]{16}`)
)

// FuzzAPIRequest sends requests with arbitrary path ids, bearer and body to
// the control API's routes that read them. Whatever comes in, the answer is
// JSON, never a 500, never a run of card-number digits, and a body that is
// not JSON on a route that reads one is a 400.
func FuzzAPIRequest(f *testing.F) {
	h, caps := fuzzAPI(f)
	f.Add(uint8(0), "call-1", "", []byte(`{"fields":["pan","expiry","cvv"]}`))
	f.Add(uint8(0), "cc-7f3a@tonewall", "", []byte(`{"fields":["pan","cvv"],"brands":["visa","amex"],"confirm_pan":true}`))
	f.Add(uint8(0), "call-1", "", []byte(`{"fields":["pan"],"pan":"4111111111111111"}`))
	f.Add(uint8(0), "call-1", "", []byte(`{"fields":["pan","4111111111111111"]}`))
	f.Add(uint8(0), "call-1", "", []byte(`{"fields":"pan"}`))
	f.Add(uint8(0), "call-1", "", []byte(`{"fields":["pan"]} {"x":1}`))
	f.Add(uint8(6), "call-1", "", []byte(`{"fields":[`))
	f.Add(uint8(1), "call-1", "cap-1", []byte(`{"field":"cvv"}`))
	f.Add(uint8(1), "call-1", "open", []byte(`{"field":"cvv"}`))
	f.Add(uint8(1), "cc-7f3a@tonewall", "open", []byte(`{"field":"4111111111111111"}`))
	f.Add(uint8(2), "call-1", "open", []byte{})
	f.Add(uint8(3), "call-1", "open", []byte{})
	f.Add(uint8(2), "call-1", "../../v1/calls", []byte{})
	f.Add(uint8(3), "call-1", "cap-1", []byte{})
	f.Add(uint8(4), "4111111111111111", "", []byte{})
	f.Add(uint8(5), "tok_4111110000001111", "", []byte(`{"reference":"order-42"}`))
	f.Add(uint8(11), "4111111111111111", "", []byte(`{"reference":4111111111111111}`))
	f.Fuzz(func(t *testing.T, which uint8, id, cid string, body []byte) {
		rt := fuzzRoutes[int(which)%len(fuzzRoutes)]
		bearer := fuzzBearers[int(which)/len(fuzzRoutes)%len(fuzzBearers)]
		if cid == "open" { // the capture routes on a capture that is collecting
			c, err := caps.Start("call-1", capture.Request{Fields: []string{"pan", "cvv"}})
			if err != nil {
				t.Fatal(err)
			}
			cid = c.ID()
		}
		path := fillPath(rt.path, id, cid)
		req, err := http.NewRequest(rt.method, path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.RemoteAddr = "192.0.2.9:41000"
		if bearer != "" {
			req.Header.Set("Authorization", bearer)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		endCapture(caps)
		checkAnswer(t, rt.method+" "+rt.path, w, body, bearer == "Bearer agent-key" || bearer == "Bearer admin-key")
	})
}

func fillPath(tmpl, id, cid string) string {
	r := []byte(tmpl)
	r = bytes.Replace(r, []byte("{id}"), []byte(url.PathEscape(id)), 1)
	r = bytes.Replace(r, []byte("{token}"), []byte(url.PathEscape(id)), 1)
	r = bytes.Replace(r, []byte("{cid}"), []byte(url.PathEscape(cid)), 1)
	return string(r)
}

// endCapture cancels the capture a request may have opened, so that each
// input starts from the same state.
func endCapture(caps *capture.Service) {
	ctrl, ok := caps.Controller("call-1")
	if !ok {
		return
	}
	if c := ctrl.Current(); c != nil {
		c.Cancel()
		<-c.Done()
	}
}

func checkAnswer(t *testing.T, route string, w *httptest.ResponseRecorder, body []byte, allowed bool) {
	raw := w.Body.Bytes()
	if w.Code == http.StatusInternalServerError {
		t.Fatalf("%s answered 500: %s", route, raw)
	}
	if w.Code == http.StatusTemporaryRedirect || w.Code == http.StatusMovedPermanently {
		return // ServeMux sends a path with "//", "." or ".." to its clean form
	}
	if !json.Valid(raw) {
		t.Fatalf("%s answered %d with no JSON: %q", route, w.Code, raw)
	}
	if panRun.Match(captureID.ReplaceAll(raw, []byte("cap_"))) {
		t.Fatalf("%s answered a run of digits: %s", route, raw)
	}
	var v any
	if allowed && route == "POST /v1/calls/{id}/captures" && w.Code != http.StatusNotFound && w.Code != http.StatusBadRequest &&
		json.NewDecoder(bytes.NewReader(body)).Decode(&v) != nil {
		t.Fatalf("%s took a body that is not JSON: %d %s", route, w.Code, raw)
	}
}

// referenceProblems are everything readReference may say of a body.
var referenceProblems = map[string]bool{
	"": true, "more than one JSON value": true, "larger than 4 KiB": true,
	`not an object whose "reference" is a string`: true, `"reference" is the only field`: true, "not JSON": true,
}

// FuzzReadBodies reads arbitrary bodies as the detokenize route (whose
// handler needs a processor to reach) and the capture route do: the
// problem named is one of a fixed set or names only the body's shape, and
// a reference taken is a string the body held.
func FuzzReadBodies(f *testing.F) {
	f.Add([]byte(`{"reference":"order-42"}`))
	f.Add([]byte(`{"reference":"order-42"}{}`))
	f.Add([]byte(`{"reference":"\u0034111111111111111"}`))
	f.Add([]byte(`{"reference":4111111111111111}`))
	f.Add([]byte(`{"pan":"4111111111111111"}`))
	f.Add([]byte(`{"fields":["pan"],"4111111111111111":1}`))
	f.Add([]byte(`{"fields":[4111111111111111]}`))
	f.Add(bytes.Repeat([]byte(" "), 5000))
	f.Add([]byte(`{"fields":["pan"`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ref, problem := readReference(httptest.NewRecorder(), httptest.NewRequest("POST", "/", bytes.NewReader(body)))
		if !referenceProblems[problem] {
			t.Fatalf("readReference says %q", problem)
		}
		if problem != "" && ref != "" || len(ref) > len(body) {
			t.Fatalf("reference %q taken from %q (problem %q)", ref, body, problem)
		}
		var req capture.Request
		if err := decodeOne(http.MaxBytesReader(httptest.NewRecorder(), bytesReader(body), 64<<10), &req); err != nil {
			if p := bodyProblem(err); panRun.MatchString(p) || !utf8Printable(p) {
				t.Fatalf("bodyProblem says %q", p)
			}
		}
	})
}

func bytesReader(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func utf8Printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}
