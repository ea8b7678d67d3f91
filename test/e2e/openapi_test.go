package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/tonewall/tonewall/internal/api"
)

// description is tonewall's OpenAPI description, loaded once, and the
// router that finds a request's operation in it.
type description struct {
	doc    *openapi3.T
	router routers.Router
}

var described = sync.OnceValues(func() (description, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		return description{}, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return description{}, err
	}
	r, err := legacy.NewRouter(doc)
	return description{doc, r}, err
})

// exercised holds the operation ids the suite's API calls reached; TestMain
// fails a whole run of the suite that leaves one out.
var exercised sync.Map

// apiRoundTrip sends req to the control API and checks the answer against
// the OpenAPI description: a route described must answer with a status, a
// content type and a body it describes. Every API call of this suite goes
// through it. A path the description does not name (a test of the
// catch-all) is not checked.
func apiRoundTrip(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	must(t, err)
	checkAnswer(t, req, res, body)
	return res, body
}

// checkAnswer checks an answer against the description: its body too
// unless body is nil.
func checkAnswer(t *testing.T, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	d, err := described()
	must(t, err)
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		return
	}
	exercised.Store(route.Operation.OperationID, true)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			ExcludeResponseBody: body == nil},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		t.Errorf("%s %s: answer %d is not as described (internal/api/openapi.yaml): %v",
			req.Method, req.URL.Path, res.StatusCode, err)
	}
}

// unexercised lists the described operations no API call of this run reached.
func unexercised() []string {
	d, err := described()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, item := range d.doc.Paths.Map() {
		for _, op := range item.Operations() {
			if _, ok := exercised.Load(op.OperationID); !ok {
				out = append(out, op.OperationID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestEventsAsDescribed: an agent's event stream answers as described, and
// each capture event's data is an Event of the description; a digit event
// counts the digits and, its schema closed to other members, holds none. The description and health are served
// as described too.
func TestEventsAsDescribed(t *testing.T) {
	u := callUp(t)
	for _, path := range []string{"/v1/openapi.yaml", "/healthz"} {
		if code, body := apiGet(t, u.s, "agent-key", path); code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+u.s.App.API.Addr()+"/v1/events", nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer agent-key")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	defer res.Body.Close()
	checkAnswer(t, req, res, nil)
	if res.StatusCode != 200 {
		t.Fatalf("events: %d", res.StatusCode)
	}
	d, err := described()
	must(t, err)
	event := d.doc.Components.Schemas["Event"].Value

	tx := u.sender(t)
	cid := openCapture(t, u.s, u.callID)
	for _, k := range "4111" {
		tx.key(t, byte(k))
	}
	digits := 0
	lines := bufio.NewScanner(res.Body)
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var e map[string]any
		must(t, json.Unmarshal([]byte(data), &e))
		if err := event.VisitJSON(e); err != nil {
			t.Errorf("event %s is not an Event as described: %v", data, err)
		}
		if e["capture_id"] == cid && e["type"] == "digit" {
			if digits++; e["count"] != float64(digits) {
				t.Errorf("digit event %d counts %v", digits, e["count"])
			}
			if digits == 4 {
				break
			}
		}
	}
	if digits != 4 {
		t.Fatalf("%d digit events of 4 (%v)", digits, lines.Err())
	}
}
