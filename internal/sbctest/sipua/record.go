package sipua

import "github.com/emiago/sipgo/sip"

func (a *Agent) record(req *sip.Request) {
	if a.o.Quiet {
		return
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, req)
	a.mu.Unlock()
}

// Requests returns every request the agent received, in order.
func (a *Agent) Requests() []*sip.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*sip.Request(nil), a.reqs...)
}

// Received returns the requests of one method the agent received.
func (a *Agent) Received(m sip.RequestMethod) []*sip.Request {
	var out []*sip.Request
	for _, r := range a.Requests() {
		if r.Method == m {
			out = append(out, r)
		}
	}
	return out
}

// GotStatus reports whether a response with this code arrived for our INVITEs.
func (a *Agent) GotStatus(code int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.responses {
		if c == code {
			return true
		}
	}
	return false
}

// ToTags returns the To tags of the responses to our INVITEs.
func (a *Agent) ToTags() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.tags...)
}

// SentInvite is our last INVITE, as sent.
func (a *Agent) SentInvite() *sip.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sentInvite
}

// LastInviteResponse is the final response to our last answered INVITE.
func (a *Agent) LastInviteResponse() *sip.Response {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastInviteResponse
}

func (a *Agent) noteResponse(res *sip.Response) error {
	if a.o.Quiet {
		return nil
	}
	a.mu.Lock()
	a.responses = append(a.responses, res.StatusCode)
	if tag, _ := res.To().Params.Get("tag"); tag != "" {
		a.tags = append(a.tags, tag)
	}
	a.mu.Unlock()
	return nil
}
