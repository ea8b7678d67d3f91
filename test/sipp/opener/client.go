package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// call is what the opener reads of a GET /v1/calls entry.
type call struct {
	ID        string    `json:"id"`
	FromTrunk string    `json:"from_trunk"`
	CC        string    `json:"contact_center_call_id"`
	Created   time.Time `json:"created"`
}

// client speaks to tonewall's control API with one key.
type client struct {
	base, key string
	http      *http.Client
}

func newClient(base, key string) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64 // windows are opened in parallel
	return &client{base: base, key: key, http: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

// calls lists the calls in progress.
func (c *client) calls(ctx context.Context) ([]call, error) {
	var list struct {
		Calls []call `json:"calls"`
	}
	status, body, err := c.do(ctx, http.MethodGet, "/v1/calls", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/calls: %d %s", status, body)
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("GET /v1/calls: %w", err)
	}
	return list.Calls, nil
}

// openWindow asks for a capture on call id: the answer's status and body,
// and the capture's id when it opened (201).
func (c *client) openWindow(ctx context.Context, id string, fields []string) (status int, body []byte, capture string, err error) {
	req, _ := json.Marshal(map[string][]string{"fields": fields})
	status, body, err = c.do(ctx, http.MethodPost, "/v1/calls/"+id+"/captures", req)
	if err != nil || status != http.StatusCreated {
		return status, body, "", err
	}
	var st struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.ID == "" {
		return status, body, "", fmt.Errorf("POST captures: 201 without a capture id: %s", body)
	}
	return status, body, st.ID, nil
}

func (c *client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}
