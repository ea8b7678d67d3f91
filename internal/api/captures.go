package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tonewall/tonewall/internal/capture"
)

// routesCaptures adds the capture endpoints.
func (s *Server) routesCaptures(mux *routeMux) {
	mux.HandleFunc("POST /v1/calls/{id}/captures", s.require(RoleAgent, s.startCapture))
	mux.HandleFunc("GET /v1/calls/{id}/captures/{cid}", s.require(RoleAgent, s.getCapture))
	mux.HandleFunc("DELETE /v1/calls/{id}/captures/{cid}", s.require(RoleAgent, s.cancelCapture))
	mux.HandleFunc("POST /v1/calls/{id}/captures/{cid}/retry", s.require(RoleAgent, s.retryField))
	mux.HandleFunc("GET /v1/events", s.require(RoleAgent, s.events))
}

// callID resolves the {id} of a path (tonewall id or contact-center Call-ID).
func (s *Server) callID(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, ok := s.status.Call(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such call")
		return "", false
	}
	return c.ID, true
}

func (s *Server) startCapture(w http.ResponseWriter, r *http.Request) {
	id, ok := s.callID(w, r)
	if !ok {
		return
	}
	var req capture.Request
	if err := decodeOne(http.MaxBytesReader(w, r.Body, 64<<10), &req); err != nil {
		writeError(w, http.StatusBadRequest, `request body: want JSON like {"fields":["pan","expiry","cvv"]}: `+bodyProblem(err))
		return
	}
	req.Actor, req.Source = PrincipalOf(r.Context()).Name, clientIP(r)
	c, err := s.captures.Start(id, req)
	if err != nil {
		writeError(w, captureStatus(err), err.Error())
		return
	}
	st := c.Status()
	concerns(w, st.ID)
	writeJSON(w, http.StatusCreated, st)
}

// findCapture resolves {id} and {cid}, answering 404 itself.
func (s *Server) findCapture(w http.ResponseWriter, r *http.Request) (*capture.Window, bool) {
	id, ok := s.callID(w, r)
	if !ok {
		return nil, false
	}
	c, err := s.captures.Get(id, r.PathValue("cid"))
	if err != nil {
		writeError(w, captureStatus(err), err.Error())
		return nil, false
	}
	return c, true
}

func (s *Server) getCapture(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.findCapture(w, r); ok {
		writeJSON(w, http.StatusOK, c.Status())
	}
}

func (s *Server) cancelCapture(w http.ResponseWriter, r *http.Request) {
	c, ok := s.findCapture(w, r)
	if !ok {
		return
	}
	c.Cancel()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
	}
	writeJSON(w, http.StatusOK, c.Status())
}

// retryField re-requests one field: {"field":"cvv"}.
func (s *Server) retryField(w http.ResponseWriter, r *http.Request) {
	c, ok := s.findCapture(w, r)
	if !ok {
		return
	}
	var req struct {
		Field string `json:"field"`
	}
	if err := decodeOne(http.MaxBytesReader(w, r.Body, 4<<10), &req); err != nil || req.Field == "" {
		writeError(w, http.StatusBadRequest, `request body: want {"field":"cvv"}`)
		return
	}
	if err := c.Retry(req.Field); err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, c.Status())
}

func captureStatus(err error) int {
	switch {
	case errors.Is(err, capture.ErrNoCall), errors.Is(err, capture.ErrNoCapture):
		return http.StatusNotFound
	case errors.Is(err, capture.ErrBusy), errors.Is(err, capture.ErrCallEnded):
		return http.StatusConflict
	case errors.Is(err, capture.ErrBadFields):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// bodyProblem names what is wrong with a JSON request body without repeating
// any of it (encoding/json's errors quote unknown field names and numbers,
// and a body may hold anything, card digits included).
// errTrailing is a body with more after its JSON value.
var errTrailing = errors.New("more than one JSON value")

// decodeOne reads exactly one JSON value with no unknown fields from body.
func decodeOne(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errTrailing
	}
	return nil
}

func bodyProblem(err error) string {
	var (
		tooLong *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooLong):
		return fmt.Sprintf("larger than %d bytes", tooLong.Limit)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("field %q has the wrong type", typeErr.Field) // a path of our struct's names
	case errors.As(err, &typeErr):
		return "not a JSON object"
	case errors.As(err, &syntax):
		return fmt.Sprintf("not valid JSON (byte %d)", syntax.Offset)
	case errors.Is(err, errTrailing):
		return "more than one JSON value"
	case errors.Is(err, io.EOF):
		return "empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "cut short"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		if name, err := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field ")); err == nil && capture.PlainWord(name) {
			return fmt.Sprintf("unknown field %q", name)
		}
		return "an unknown field"
	}
	return "not valid JSON"
}
