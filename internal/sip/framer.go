package sip

// framer follows SIP message boundaries in a byte stream (RFC 3261 7.5 and
// 18.3: headers end at an empty line, the body is Content-Length bytes). It
// does not parse: sipgo does. It tells a connection whether it is between
// messages, so that a partly received message can be given a deadline and
// an idle one another.
type framer struct {
	state   frameState
	line    [40]byte // the start of the current header line, enough for Content-Length
	lineLen int
	empty   bool // the current line has no byte but CR so far
	clen    int  // the Content-Length seen in this message's headers; -1: none
	body    int  // body bytes still to come
}

type frameState uint8

const (
	frameBetween frameState = iota // no message started (CRLF keep-alives may come)
	frameHeaders
	frameBody
)

// between reports whether no message is partly received.
func (f *framer) between() bool { return f.state == frameBetween }

// feed follows p, and reports whether a message started in it.
func (f *framer) feed(p []byte) (started bool) {
	for i := 0; i < len(p); i++ {
		switch f.state {
		case frameBetween:
			if p[i] == '\r' || p[i] == '\n' {
				continue
			}
			f.state, f.clen, f.lineLen, f.empty = frameHeaders, -1, 0, false
			started = true
			i--
		case frameHeaders:
			f.headerByte(p[i])
		case frameBody:
			n := min(f.body, len(p)-i)
			f.body -= n
			i += n - 1
			if f.body == 0 {
				f.state = frameBetween
			}
		}
	}
	return started
}

func (f *framer) headerByte(c byte) {
	if c != '\n' {
		if (c == ' ' || c == '\t') && f.lineLen > 0 && f.lineLen <= len(f.line) {
			if p := f.line[f.lineLen-1]; p == ' ' || p == '\t' || p == ':' {
				return // a run of white space says no more than one: keep room for the value
			}
		}
		if f.lineLen < len(f.line) {
			f.line[f.lineLen] = c
		}
		f.lineLen++
		return
	}
	if f.lineLen > len(f.line) { // longer than any Content-Length line can be
		f.lineLen = 0
		return
	}
	n := f.lineLen
	line := f.line[:n]
	if n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	f.lineLen = 0
	if len(line) > 0 {
		if v, ok := contentLength(line); ok {
			f.clen = v
		}
		return
	}
	if f.clen > 0 {
		f.state, f.body = frameBody, f.clen
		return
	}
	f.state = frameBetween
}

// contentLength reads a Content-Length (or compact l) header line.
func contentLength(line []byte) (int, bool) {
	i := 0
	for i < len(line) && line[i] != ':' {
		i++
	}
	if i == len(line) {
		return 0, false
	}
	name := trimSpace(line[:i])
	if !equalFold(name, "content-length") && !equalFold(name, "l") {
		return 0, false
	}
	v, n := 0, 0
	for _, c := range trimSpace(line[i+1:]) {
		if c < '0' || c > '9' || n == 9 {
			return 0, false
		}
		v, n = v*10+int(c-'0'), n+1
	}
	return v, n > 0
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
