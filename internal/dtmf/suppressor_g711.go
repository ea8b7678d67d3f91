package dtmf

// Law is a G.711 companding law, for ProcessG711.
type Law uint8

const (
	MuLaw Law = iota // PCMU
	ALaw             // PCMA
)

func (l Law) decode(dst []int16, src []byte) {
	if l == ALaw {
		DecodeAlaw(dst, src)
		return
	}
	DecodeUlaw(dst, src)
}

// Encode encodes src into dst (at least as long) in this law.
func (l Law) Encode(dst []byte, src []int16) {
	if l == ALaw {
		EncodeAlaw(dst, src)
		return
	}
	EncodeUlaw(dst, src)
}

// g711Chunk is the most samples ProcessG711 decodes at a time, on its
// stack: a batch of slots for the kernel.
const g711Chunk = maxPre * slotLen

// ProcessG711 is Process for a G.711 payload, in place. The audio is
// decoded only to be analysed: what goes out is the payload's own bytes,
// delayed by the lookahead, with only the masked stretches encoded. So
// audio that is not masked leaves exactly as it came, the lookahead line
// holds a byte a sample, and a call in a window keeps less state warm per
// packet. A suppressor is driven through Process (and Lost) or through
// ProcessG711, not both.
func (s *Suppressor) ProcessG711(payload []byte, law Law, digits []Digit) []Digit {
	s.onWire = true
	var pcm [g711Chunk]int16
	for len(payload) > 0 {
		n := min(len(payload), g711Chunk)
		in := pcm[:n]
		law.decode(in, payload[:n])
		if !s.open {
			digits = s.det.Process(in, digits)
		} else {
			first := s.det.Position()
			digits = s.analyze(in, digits)
			s.emitG711(payload[:n], law, first)
		}
		payload = payload[n:]
	}
	return digits
}

// emitG711 is emit on the wire: the payload's bytes change places with the
// lookahead line's, and masked runs are encoded over them.
func (s *Suppressor) emitG711(p []byte, law Law, first int64) {
	L := len(s.wire)
	for len(p) > 0 {
		n := min(len(p), L-s.dpos)
		swap(p[:n], s.wire[s.dpos:s.dpos+n])
		s.dpos = (s.dpos + n) % L
		s.maskRunG711(p[:n], law, first-int64(L))
		p, first = p[n:], first+int64(n)
	}
}

// maskRunG711 is maskRun on the wire.
func (s *Suppressor) maskRunG711(out []byte, law Law, tau int64) {
	s.sent = tau + int64(len(out))
	var pcm [swapChunk]int16
	for len(out) > 0 {
		n, what := s.nextRun(tau, min(len(out), swapChunk))
		if what != runPass {
			if what == runPrime {
				s.prime(pcm[:n])
			} else {
				s.fill(pcm[:n], tau)
			}
			law.Encode(out[:n], pcm[:n])
		}
		out, tau = out[n:], tau+int64(n)
	}
}
