package media

import (
	"fmt"
	"slices"

	"go.uber.org/zap"
)

// negotiated is the agreed media of one leg; a plain value so that an
// answer can be rolled back by restoring a copy.
type negotiated struct {
	remote *mediaDesc  // the leg's latest SDP (nil before the first answer)
	recv   []codec     // payload types the leg sends us
	send   []codec     // payload types the leg wants from us
	mux    bool        // RTCP on the RTP port
	rx, tx *cryptoSet  // nil = plain RTP on this leg (or DTLS handshake pending)
	dtls   *dtlsParams // DTLS-SRTP on this leg
}

// secure reports whether the leg negotiated SRTP by either key exchange.
func (n *negotiated) secure() bool { return n.rx != nil || n.tx != nil || n.dtls != nil }

// offerState is an offer passed on to the other leg, waiting for its answer.
type offerState struct {
	from      Side
	offer     *parsedSDP
	remoteKey *cryptoAttr    // from's key, nil = plain
	localKey  *cryptoAttr    // our key toward from, nil = plain
	fromDTLS  *dtlsParams    // DTLS-SRTP with from
	offerDTLS bool           // DTLS-SRTP offered to from.Other()
	offered   []codec        // codecs offered to from.Other()
	crypto    []cryptoAttr   // our a=crypto lines offered to from.Other()
	proto     string         // RTP/AVP or RTP/SAVP offered to from.Other()
	prev      *[2]negotiated // state before the first answer to this offer
}

// Offer takes an SDP offer from leg `from` and returns the offer for
// from.Other(): tonewall's address and ports, its own crypto per the other
// leg's policy, codecs filtered by both policies. Ports are bound on first use.
func (s *Session) Offer(from Side, raw []byte) ([]byte, error) {
	return s.negotiate("offer", from, raw, s.offer)
}

// negotiate checks leg `from`, parses its SDP and, holding s.mu on an open
// session, hands both to step: the part Offer and Answer share.
func (s *Session) negotiate(what string, from Side, raw []byte, step func(Side, *parsedSDP) ([]byte, error)) ([]byte, error) {
	if !from.valid() {
		return nil, fmt.Errorf("media: %s from %s: no such leg", what, from)
	}
	p, err := parseSDP(raw)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.Err() != nil {
		return nil, ErrClosed
	}
	return step(from, p)
}

// offer is Offer under s.mu.
func (s *Session) offer(from Side, p *parsedSDP) ([]byte, error) {
	of, err := s.prepareOffer(from, p)
	if err != nil {
		return nil, err
	}
	fresh := s.legs[from].ports == nil
	if err := s.ensurePorts(from, p.media.Mux); err != nil {
		return nil, err
	}
	out, err := s.writeOffer(of)
	if err != nil {
		if fresh { // a failed first offer holds no port
			s.releasePorts()
		}
		return nil, err
	}
	s.pending = of
	return out, nil
}

func (s *Session) prepareOffer(from Side, p *parsedSDP) (*offerState, error) {
	fromPol, toPol := s.legs[from].policy, s.legs[from.Other()].policy
	of := &offerState{from: from, offer: p}
	remote, fromDTLS, err := acceptOfferCrypto(p.media, fromPol)
	if err != nil {
		return nil, err
	}
	of.remoteKey, of.fromDTLS = remote, fromDTLS
	of.offered = offerCodecs(p.media.Codecs, fromPol, toPol)
	if !hasVoice(of.offered) {
		return nil, notAcceptable(ErrNoCommonCodec)
	}
	changed := keyChanged(s.legs[from].neg.rx, remote)
	if of.localKey, err = s.answerKey(from, remote, changed); err != nil {
		return nil, err
	}
	of.proto, of.crypto, err = s.offerKeys(from.Other(), changed)
	of.offerDTLS = of.proto == protoDTLS
	return of, err
}

const protoDTLS = "UDP/TLS/RTP/SAVP"

// acceptOfferCrypto picks the offerer's SDES key or DTLS role per its leg's policy.
func acceptOfferCrypto(m *mediaDesc, pol LegPolicy) (*cryptoAttr, *dtlsParams, error) {
	switch {
	case pol.SRTP == SRTPOff && m.secure():
		return nil, nil, notAcceptable(ErrSRTPRefused)
	case pol.SRTP == SRTPOff:
		return nil, nil, nil
	case pol.KeyExchange == KeyDTLS:
		d, err := acceptOfferDTLS(m, pol)
		return nil, d, err
	case m.isDTLS():
		return nil, nil, notAcceptable(fmt.Errorf("%w: %s", ErrUnsupported, m.Proto))
	}
	c, ok := pickCrypto(m.Crypto, pol.Suites)
	switch {
	case ok:
		return &c, nil, nil
	case m.secure() || pol.SRTP == SRTPRequired:
		return nil, nil, notAcceptable(ErrSRTPRequired)
	}
	return nil, nil, nil
}

func acceptOfferDTLS(m *mediaDesc, pol LegPolicy) (*dtlsParams, error) {
	switch {
	case m.isDTLS() && m.Fingerprint == "":
		return nil, notAcceptable(fmt.Errorf("%w: dtls offer without a=fingerprint", ErrBadCrypto))
	case m.isDTLS():
		_, client := ourSetup(m.Setup)
		return &dtlsParams{remote: m.Fingerprint, client: client}, nil
	case m.secure() || pol.SRTP == SRTPRequired:
		return nil, notAcceptable(ErrSRTPRequired)
	}
	return nil, nil
}

// offerCodecs keeps voice codecs both legs allow, and telephone-event when
// the receiving leg uses RFC 4733, in the receiving trunk's order of
// preference (codecs it does not list keep the offer's order, after).
func offerCodecs(in []codec, fromPol, toPol LegPolicy) []codec {
	var out []codec
	for _, c := range in {
		if (c.isDTMF() && toPol.allowsCodec(c.Name)) || (!c.isDTMF() && allAllow(c, []LegPolicy{fromPol, toPol})) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b codec) int { return toPol.rank(a.Name) - toPol.rank(b.Name) })
	return out
}

func keyChanged(cur *cryptoSet, next *cryptoAttr) bool {
	if cur == nil || next == nil {
		return (cur == nil) != (next == nil)
	}
	return !cur.attr.same(*next)
}

// answerKey is our key toward the offering leg: kept while its key is kept.
func (s *Session) answerKey(from Side, remote *cryptoAttr, changed bool) (*cryptoAttr, error) {
	if remote == nil {
		return nil, nil
	}
	if tx := s.legs[from].neg.tx; tx != nil && !changed && tx.attr.Suite == remote.Suite {
		k := tx.attr
		k.Tag = remote.Tag
		return &k, nil
	}
	k, err := newCrypto(remote.Tag, remote.Suite)
	return &k, err
}

// offerKeys is the protocol and a=crypto lines offered to leg `to`: the
// current key again on a re-offer when the offerer kept its key, else fresh.
func (s *Session) offerKeys(to Side, changed bool) (string, []cryptoAttr, error) {
	pol := s.legs[to].policy
	if pol.SRTP == SRTPOff {
		return "RTP/AVP", nil, nil
	}
	if pol.KeyExchange == KeyDTLS {
		return protoDTLS, nil, nil
	}
	proto := "RTP/AVP" // RFC 8643 opportunistic SRTP
	if pol.SRTP == SRTPRequired {
		proto = "RTP/SAVP"
	}
	if tx := s.legs[to].neg.tx; tx != nil && !changed {
		return proto, []cryptoAttr{tx.attr}, nil
	}
	keys, err := offerCrypto(pol.Suites)
	return proto, keys, err
}

func (s *Session) writeOffer(of *offerState) ([]byte, error) {
	to := s.legs[of.from.Other()]
	m := of.offer.media
	om := &outMedia{
		Proto: of.proto, Port: to.ports.port, RTCPPort: rtcpPort(to.ports), Mux: m.Mux,
		Codecs: of.offered, Dir: offerDirection(m), Crypto: of.crypto, Keep: m.Keep,
	}
	if of.offerDTLS {
		om.Fingerprint, om.Setup = s.m.id.fingerprint, "actpass"
	}
	return buildSDP(&to.origin, s.m.advertise, om, nil)
}

func rtcpPort(b *portBlock) int {
	if b.rtcp == nil {
		return b.port
	}
	return b.port + 1
}

// offerDirection turns RFC 2543 hold (c=0.0.0.0) into a direction attribute.
func offerDirection(m *mediaDesc) string {
	if !m.onHold() {
		return m.Dir
	}
	if m.Dir == dirSendRecv || m.Dir == dirSendOnly {
		return dirSendOnly
	}
	return dirInactive
}

// Answer takes the answer from leg `from` to the pending offer and returns
// the answer for from.Other(); relaying starts or follows the new state. It
// may be called again for the same offer (183 then 200): the latest wins.
func (s *Session) Answer(from Side, raw []byte) ([]byte, error) {
	return s.negotiate("answer", from, raw, s.answerPending)
}

// answerPending is Answer under s.mu.
func (s *Session) answerPending(from Side, p *parsedSDP) ([]byte, error) {
	of := s.pending
	if of == nil || of.from != from.Other() {
		return nil, notAcceptable(ErrNoOffer)
	}
	return s.answer(of, p)
}

func (s *Session) answer(of *offerState, p *parsedSDP) ([]byte, error) {
	var next [2]negotiated
	if err := s.readAnswer(of, p, &next); err != nil {
		return nil, err
	}
	out, err := s.writeAnswer(of, &next)
	if err != nil {
		return nil, err
	}
	if of.prev == nil {
		prev := [2]negotiated{s.legs[0].neg, s.legs[1].neg}
		of.prev = &prev
	}
	s.commit(next)
	return out, nil
}

// readAnswer checks the answer against the offer and fills both legs' state.
func (s *Session) readAnswer(of *offerState, p *parsedSDP, next *[2]negotiated) error {
	ans := p.media
	answerer := of.from.Other()
	aKey, oKey, err := s.answerCrypto(of, ans)
	if err != nil {
		return err
	}
	aDTLS, err := s.answerDTLS(of, ans)
	if err != nil {
		return err
	}
	agreed := matchCodecs(ans.Codecs, of.offered) // our payload types, their choice
	if !hasVoice(agreed) {
		return notAcceptable(ErrNoCommonCodec)
	}
	fromCodecs := answerCodecs(agreed, of.offer.media.Codecs, s.legs[of.from].policy)
	next[answerer] = negotiated{remote: ans, recv: agreed, send: matchCodecs(of.offered, ans.Codecs), mux: ans.Mux && of.offer.media.Mux}
	next[of.from] = negotiated{remote: of.offer.media, recv: fromCodecs, send: fromCodecs, mux: of.offer.media.Mux}
	next[answerer].rx, next[answerer].tx, err = s.cryptoSets(answerer, aKey, oKey)
	if err != nil {
		return err
	}
	next[of.from].rx, next[of.from].tx, err = s.cryptoSets(of.from, of.remoteKey, of.localKey)
	next[answerer].dtls, next[of.from].dtls = aDTLS, of.fromDTLS
	return err
}

// answerDTLS reads the answerer's fingerprint and role when DTLS was offered.
func (s *Session) answerDTLS(of *offerState, ans *mediaDesc) (*dtlsParams, error) {
	pol := s.legs[of.from.Other()].policy
	switch {
	case !of.offerDTLS:
		return nil, nil
	case !ans.isDTLS() && pol.SRTP == SRTPRequired:
		return nil, notAcceptable(ErrSRTPRequired)
	case !ans.isDTLS():
		return nil, nil
	case ans.Fingerprint == "":
		return nil, notAcceptable(fmt.Errorf("%w: dtls answer without a=fingerprint", ErrBadCrypto))
	}
	return &dtlsParams{remote: ans.Fingerprint, client: ans.Setup == "passive"}, nil
}

// answerCrypto returns the answerer's key and ours toward it.
func (s *Session) answerCrypto(of *offerState, ans *mediaDesc) (remote, local *cryptoAttr, err error) {
	pol := s.legs[of.from.Other()].policy
	if of.offerDTLS {
		return nil, nil, nil
	}
	if len(of.crypto) == 0 || len(ans.Crypto) == 0 {
		if pol.SRTP == SRTPRequired || (ans.secure() && len(of.crypto) > 0) {
			return nil, nil, notAcceptable(ErrSRTPRequired)
		}
		if ans.secure() || len(ans.Crypto) > 0 {
			return nil, nil, notAcceptable(ErrBadCrypto)
		}
		return nil, nil, nil
	}
	a := ans.Crypto[0]
	for _, c := range of.crypto {
		if c.Tag == a.Tag && c.Suite == a.Suite {
			return &a, &c, nil
		}
	}
	return nil, nil, notAcceptable(ErrBadCrypto)
}

// answerCodecs renumbers the agreed codecs with the offerer's payload types
// and adds the offerer's telephone-event when its trunk uses RFC 4733.
func answerCodecs(agreed, offered []codec, pol LegPolicy) []codec {
	out := matchCodecs(agreed, offered)
	for _, c := range offered {
		if c.isDTMF() && pol.allowsCodec(c.Name) && !containsCodec(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func containsCodec(cs []codec, c codec) bool {
	for _, x := range cs {
		if x.same(c) {
			return true
		}
	}
	return false
}

// cryptoSets keeps a leg's SRTP contexts while its keys are unchanged, so
// that rollover counters and replay windows survive a re-INVITE.
func (s *Session) cryptoSets(l Side, remote, local *cryptoAttr) (rx, tx *cryptoSet, err error) {
	cur := s.legs[l].neg
	if rx, err = keepOrNew(cur.rx, remote, true); err != nil {
		return nil, nil, err
	}
	tx, err = keepOrNew(cur.tx, local, false)
	return rx, tx, err
}

func keepOrNew(cur *cryptoSet, key *cryptoAttr, decrypt bool) (*cryptoSet, error) {
	if key == nil {
		return nil, nil
	}
	if cur != nil && cur.attr.Suite == key.Suite && cur.attr.Key.equal(key.Key) {
		return cur, nil
	}
	return newCryptoSet(*key, decrypt)
}

func (s *Session) writeAnswer(of *offerState, next *[2]negotiated) ([]byte, error) {
	l := s.legs[of.from]
	offer := of.offer.media
	om := &outMedia{Proto: offer.Proto, Port: l.ports.port, Mux: offer.Mux, Codecs: next[of.from].recv,
		Dir: offerDirection(next[of.from.Other()].remote), Keep: offer.Keep}
	if !om.Mux {
		om.RTCPPort = rtcpPort(l.ports)
	}
	if of.localKey != nil {
		om.Crypto = []cryptoAttr{*of.localKey}
	}
	if of.fromDTLS != nil {
		om.Fingerprint = s.m.id.fingerprint
		om.Setup, _ = ourSetup(offer.Setup)
	}
	return buildSDP(&l.origin, s.m.advertise, om, of.offer)
}

// commit makes next the negotiated state and swaps the relay routes.
func (s *Session) commit(next [2]negotiated) {
	var restart [2]bool
	for i, l := range s.legs {
		if addrChanged(l.neg.remote, next[i].remote) {
			s.latched[i].rtp.Store(nil)
			s.latched[i].rtcp.Store(nil)
		}
		restart[i] = s.keepDTLS(Side(i), &next[i])
		l.neg = next[i]
	}
	s.held.Store(!bothSendRecv(next))
	s.swapRoutes()
	s.start()
	for i, r := range restart {
		if r {
			s.startDTLS(Side(i), *next[i].dtls)
		}
	}
	s.log.Debug("media negotiated", zap.Stringer("carrier", s.routes[Carrier].Load()),
		zap.Stringer("contact_center", s.routes[ContactCenter].Load()))
}

// keepDTLS carries the keys of a DTLS association over to next when its
// peer and roles are unchanged; it reports whether a new handshake is due.
func (s *Session) keepDTLS(l Side, next *negotiated) bool {
	cur := s.links[l].Load()
	switch {
	case next.dtls == nil && cur != nil:
		cur.close()
		s.links[l].Store(nil)
		return false
	case next.dtls == nil:
		return false
	case cur != nil && cur.params.client == next.dtls.client && sameFingerprint(cur.params.remote, next.dtls.remote):
		next.rx, next.tx = s.legs[l].neg.rx, s.legs[l].neg.tx
		return false
	}
	return true
}

func (s *Session) swapRoutes() {
	for l := range s.legs {
		s.routes[l].Store(s.buildRoute(Side(l)))
	}
}

func addrChanged(a, b *mediaDesc) bool {
	if a == nil || b == nil {
		return true
	}
	return a.rtpAddr() != b.rtpAddr() || a.RTCP != b.RTCP
}

func bothSendRecv(n [2]negotiated) bool {
	for _, l := range n {
		if l.remote == nil || l.remote.Dir != dirSendRecv || l.remote.onHold() {
			return false
		}
	}
	return true
}

// Rollback drops the pending offer (e.g. a re-INVITE answered 488) and
// restores the state from before it, even if a provisional answer was used.
func (s *Session) Rollback() {
	s.mu.Lock()
	defer s.mu.Unlock()
	of := s.pending
	s.pending = nil
	if of == nil || of.prev == nil || s.closed {
		return
	}
	s.commit(*of.prev)
}
