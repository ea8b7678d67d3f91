package api

import (
	"bytes"
	"net/http"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/card"
)

// The egress check is the last line of defense: every answer body and
// every event is read by card.HoldsCardNumber before it is written.
// tonewall's tokens fail Luhn by construction, so nothing it means to send
// matches; on a hit nothing of it is sent, the hit is counted and logged
// (without the body), and the capture it concerns is failed closed.

// captureFailer is what the capture service offers, when it does, to end
// a capture whose data showed up where it must not.
type captureFailer interface {
	FailClosed(captureID, reason string) bool
}

const egressBlocked = "egress_blocked"

// egressWriter holds a handler's answer until the check has read it.
type egressWriter struct {
	w        http.ResponseWriter
	code     int
	buf      bytes.Buffer
	streamed bool   // the handler writes through and checks each write itself (events)
	capture  string // the capture the answer concerns, failed closed on a hit
}

func (e *egressWriter) Header() http.Header { return e.w.Header() }

func (e *egressWriter) WriteHeader(code int) {
	if e.code == 0 {
		e.code = code
	}
}

func (e *egressWriter) Write(b []byte) (int, error) {
	e.WriteHeader(http.StatusOK)
	return e.buf.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (e *egressWriter) Unwrap() http.ResponseWriter { return e.w }

// egress wraps every route with the check.
func (s *Server) egress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ew := &egressWriter{w: w}
		next.ServeHTTP(ew, r)
		if ew.streamed {
			return
		}
		body := ew.buf.Bytes()
		if card.HoldsCardNumber(body) {
			clear(body)
			captureID := ew.capture
			if captureID == "" {
				captureID = r.PathValue("cid")
			}
			s.egressHit(r.Pattern, captureID)
			w.Header().Del("Content-Length")
			writeProblem(w, http.StatusInternalServerError, egressBlocked,
				"the answer held what looks like a card number and was not sent; tonewall's log says where")
			return
		}
		ew.WriteHeader(http.StatusOK)
		w.WriteHeader(ew.code)
		_, _ = w.Write(body)
	})
}

// streaming hands a handler the writer under the check: it takes on
// checking every write itself.
func streaming(w http.ResponseWriter) http.ResponseWriter {
	if ew, ok := w.(*egressWriter); ok {
		ew.streamed = true
		return ew.w
	}
	return w
}

// concerns notes the capture an answer is about, to be failed closed if
// the answer is blocked.
func concerns(w http.ResponseWriter, captureID string) {
	if ew, ok := w.(*egressWriter); ok {
		ew.capture = captureID
	}
}

// egressHit counts and logs a blocked answer or event of route (the
// pattern, which holds nothing of the request), and fails closed the
// capture it concerns when there is one and the capture service can.
func (s *Server) egressHit(route, captureID string) {
	s.metrics.egressBlocked.Inc()
	failed := false
	if captureID != "" && s.failer != nil {
		failed = s.failer.FailClosed(captureID, egressBlocked)
	}
	s.log.Error("egress check: held what looks like a card number, not sent",
		zap.String("route", route), zap.Bool("capture_failed_closed", failed))
}
