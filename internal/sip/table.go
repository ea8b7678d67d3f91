package sip

import "sync"

// callTable holds the calls in progress by tonewall call id.
type callTable struct {
	mu sync.Mutex
	m  map[string]*Call
}

func (t *callTable) add(c *Call) {
	t.mu.Lock()
	t.m[c.id] = c
	t.mu.Unlock()
}

func (t *callTable) remove(id string) {
	t.mu.Lock()
	delete(t.m, id)
	t.mu.Unlock()
}

func (t *callTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

func (t *callTable) all() []*Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Call, 0, len(t.m))
	for _, c := range t.m {
		out = append(out, c)
	}
	return out
}

func (t *callTable) get(id string) *Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// dialogTable finds a leg from an in-dialog request: its Call-ID and the
// tag tonewall chose for that dialog (the request's To tag).
type dialogTable struct {
	mu sync.Mutex
	m  map[string]*Leg
}

func dialogKey(callID, localTag string) string { return callID + "\x00" + localTag }

func (t *dialogTable) add(l *Leg) {
	t.mu.Lock()
	t.m[dialogKey(l.callID, l.localTag)] = l
	t.mu.Unlock()
}

func (t *dialogTable) remove(l *Leg) {
	t.mu.Lock()
	delete(t.m, dialogKey(l.callID, l.localTag))
	t.mu.Unlock()
}

func (t *dialogTable) get(callID, localTag string) *Leg {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[dialogKey(callID, localTag)]
}

func (t *dialogTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
