package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// API keys of the soak's tonewall: an agent opens captures, a supervisor
// lists calls.
const (
	agentKey      = "soak-agent-key"
	supervisorKey = "soak-supervisor-key"
)

func apiKeys() sbc.API {
	return sbc.API{Keys: []sbc.APIKey{sbc.Key("desk", agentKey, "agent"), sbc.Key("floor", supervisorKey, "supervisor")}}
}

// apiClient talks to tonewall's control API as a desk application would.
// Its idle connections are closed before each heap and goroutine count:
// each holds buffers and two goroutines on either side.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient(addr string) *apiClient {
	return &apiClient{base: "http://" + addr, http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
}

// do sends a request and decodes a JSON answer into out (nil: discarded).
func (a *apiClient) do(method, key, path, body string, out any) (int, error) {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && out != nil {
		err = json.Unmarshal(b, out)
	}
	return res.StatusCode, err
}

// captureStatus is what GET and DELETE of a capture answer.
type captureStatus struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Reason string `json:"reason"`
	Digits int    `json:"digits"`
	Last4  string `json:"last4"`
}

func (a *apiClient) openCapture(callID string) (string, error) {
	var st captureStatus
	code, err := a.do("POST", agentKey, "/v1/calls/"+callID+"/captures", `{"fields":["pan","expiry","cvv"]}`, &st)
	if err == nil && code != http.StatusCreated {
		err = fmt.Errorf("open capture: status %d", code)
	}
	return st.ID, err
}

func (a *apiClient) capture(method, callID, captureID string) (captureStatus, error) {
	var st captureStatus
	code, err := a.do(method, agentKey, "/v1/calls/"+callID+"/captures/"+captureID, "", &st)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("%s capture: status %d", method, code)
	}
	return st, err
}

// calls is GET /v1/calls: the calls tonewall lists as in progress.
func (a *apiClient) calls() (int, error) {
	var body struct {
		Calls []json.RawMessage `json:"calls"`
	}
	code, err := a.do("GET", supervisorKey, "/v1/calls", "", &body)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /v1/calls: status %d", code)
	}
	return len(body.Calls), err
}

// metric is the value of one series of /metrics, as written there.
func (a *apiClient) metric(series string) (string, error) {
	req, err := http.NewRequest("GET", a.base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	res, err := a.http.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no series %s in /metrics", series)
}
