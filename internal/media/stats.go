package media

import "sync/atomic"

// LegStats counts packets by the leg they came from (or went to, for Sent).
type LegStats struct {
	Received    uint64 // RTP and RTCP packets accepted from the leg
	Sent        uint64 // RTP and RTCP packets sent to the leg
	WrongSource uint64 // dropped: not from the leg's signalled or latched address ("RTP bleed")
	Malformed   uint64 // dropped: not parseable as RTP/RTCP
	Dropped     uint64 // dropped: no route yet, unknown payload type, on hold, stage
	AuthFailed  uint64 // dropped: SRTP/SRTCP authentication failed
	Replayed    uint64 // dropped: SRTP/SRTCP replay
	TooLarge    uint64 // dropped: a datagram larger than the relay reads (bufSize)
}

type legCounters struct {
	received, sent, wrongSource, malformed, dropped, authFailed, replayed, tooLarge atomic.Uint64
}

func (s *LegStats) add(o LegStats) {
	s.Received += o.Received
	s.Sent += o.Sent
	s.WrongSource += o.WrongSource
	s.Malformed += o.Malformed
	s.Dropped += o.Dropped
	s.AuthFailed += o.AuthFailed
	s.Replayed += o.Replayed
	s.TooLarge += o.TooLarge
}

func (c *legCounters) snapshot() LegStats {
	return LegStats{
		Received: c.received.Load(), Sent: c.sent.Load(), WrongSource: c.wrongSource.Load(),
		Malformed: c.malformed.Load(), Dropped: c.dropped.Load(),
		AuthFailed: c.authFailed.Load(), Replayed: c.replayed.Load(), TooLarge: c.tooLarge.Load(),
	}
}
