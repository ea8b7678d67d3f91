package media

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v2"
)

// suite is one SDES crypto suite (RFC 4568, RFC 7714).
type suite struct {
	Name    string
	Profile srtp.ProtectionProfile
	KeyLen  int
	SaltLen int
}

var suites = []suite{
	{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14},
	{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14},
	{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm, 16, 12},
}

func suiteByName(name string) (suite, bool) {
	for _, s := range suites {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return suite{}, false
}

func allSuiteNames() []string {
	names := make([]string, len(suites))
	for i, s := range suites {
		names[i] = s.Name
	}
	return names
}

// secret is SRTP key material (master key || master salt). Every way of
// formatting it prints "[redacted]", so a key never reaches a log.
type secret []byte

func (secret) String() string               { return "[redacted]" }
func (secret) GoString() string             { return "[redacted]" }
func (secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte("[redacted]")) }
func (secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
func (s secret) equal(o secret) bool        { return string(s) == string(o) }

// cryptoAttr is one a=crypto line.
type cryptoAttr struct {
	Tag   int
	Suite suite
	Key   secret
}

func (c cryptoAttr) String() string {
	return fmt.Sprintf("%d %s inline:[redacted]", c.Tag, c.Suite.Name)
}

// sdpValue is the a=crypto value including the key: for SDP only.
func (c cryptoAttr) sdpValue() string {
	return fmt.Sprintf("%d %s inline:%s", c.Tag, c.Suite.Name, base64.StdEncoding.EncodeToString(c.Key))
}

func (c cryptoAttr) same(o cryptoAttr) bool {
	return c.Tag == o.Tag && c.Suite.Name == o.Suite.Name && c.Key.equal(o.Key)
}

// parseCrypto reads "tag suite inline:key||salt[|lifetime]". Lines with an
// unknown suite, an MKI, several keys or a wrong key length are not usable.
func parseCrypto(v string) (cryptoAttr, bool) {
	f := strings.Fields(v)
	if len(f) < 3 || !strings.HasPrefix(f[2], "inline:") {
		return cryptoAttr{}, false
	}
	tag, err := strconv.Atoi(f[0])
	s, ok := suiteByName(f[1])
	if err != nil || tag < 0 || tag > 999999999 || !ok || strings.Contains(f[2], ";") {
		return cryptoAttr{}, false
	}
	keyParams := strings.Split(strings.TrimPrefix(f[2], "inline:"), "|")
	if len(keyParams) > 2 || (len(keyParams) == 2 && strings.Contains(keyParams[1], ":")) {
		return cryptoAttr{}, false // MKI is not supported
	}
	key, err := base64.StdEncoding.DecodeString(keyParams[0])
	if err != nil || len(key) != s.KeyLen+s.SaltLen {
		return cryptoAttr{}, false
	}
	return cryptoAttr{Tag: tag, Suite: s, Key: key}, true
}

// newCrypto makes fresh key material for a suite.
func newCrypto(tag int, s suite) (cryptoAttr, error) {
	key := make(secret, s.KeyLen+s.SaltLen)
	if _, err := rand.Read(key); err != nil {
		return cryptoAttr{}, fmt.Errorf("srtp key: %w", err)
	}
	return cryptoAttr{Tag: tag, Suite: s, Key: key}, nil
}

// cryptoSet is one leg's SRTP state for one direction: RTP through the
// zero-allocation transforms (open for what the leg sends, seal for what
// it receives), RTCP through pion/srtp. Each part is only ever used by one
// goroutine at a time.
type cryptoSet struct {
	attr cryptoAttr
	open *opener // set when decrypting
	seal *sealer // set when encrypting
	rtcp *srtp.Context
}

const replayWindow = 128

func newCryptoSet(c cryptoAttr, decrypt bool) (*cryptoSet, error) {
	t, err := newTransform(c)
	if err != nil {
		return nil, fmt.Errorf("srtp %s: %w", c.Suite.Name, err)
	}
	set := &cryptoSet{attr: c}
	var opts []srtp.ContextOption
	if decrypt {
		set.open = &opener{t: t}
		opts = []srtp.ContextOption{srtp.SRTCPReplayProtection(replayWindow)}
	} else {
		set.seal = &sealer{t: t}
	}
	key, salt := c.Key[:c.Suite.KeyLen], c.Key[c.Suite.KeyLen:]
	if set.rtcp, err = srtp.CreateContext(key, salt, c.Suite.Profile, opts...); err != nil {
		return nil, fmt.Errorf("srtcp %s: %w", c.Suite.Name, err)
	}
	return set, nil
}

// pickCrypto chooses the first of our preferred suites among offered lines.
func pickCrypto(offered []cryptoAttr, prefer []string) (cryptoAttr, bool) {
	for _, name := range prefer {
		for _, c := range offered {
			if strings.EqualFold(c.Suite.Name, name) {
				return c, true
			}
		}
	}
	return cryptoAttr{}, false
}

// offerCrypto makes one fresh a=crypto per preferred suite, tags 1..n.
func offerCrypto(prefer []string) ([]cryptoAttr, error) {
	var out []cryptoAttr
	for i, name := range prefer {
		s, _ := suiteByName(name)
		c, err := newCrypto(i+1, s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
