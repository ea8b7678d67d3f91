package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tonewall/tonewall/internal/card"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testPAN    = "4111111111111111"
	testExpiry = "1230"
	testCVV    = "737"
)

func newTestLocal(t *testing.T, cfg LocalConfig) *Local {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	l, err := NewLocal(cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func request(captureID, pan, exp, cvv string) Request {
	return Request{
		CaptureID: captureID,
		CallID:    "call-" + captureID,
		PAN:       card.NewPAN([]byte(pan)),
		Expiry:    card.NewExpiry([]byte(exp)),
		CVV:       card.NewCVV([]byte(cvv)),
	}
}

func TestKeyFileCreated0600AndReusedAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	cfg := LocalConfig{Dir: dir}
	l, err := NewLocal(cfg, nil)
	require.NoError(t, err)
	res, err := l.Tokenize(context.Background(), request("cap-a", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	require.NoError(t, l.Close())

	keyPath := filepath.Join(dir, "vault.key")
	fi, err := os.Stat(keyPath)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.EqualValues(t, KeySize, fi.Size())
	key1, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	fi, err = os.Stat(filepath.Join(dir, "vault.db"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	l = newTestLocal(t, cfg)
	key2, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	require.Equal(t, key1, key2, "reopen must reuse the key, not replace it")
	pan, exp, err := l.Detokenize(context.Background(), res.Token)
	require.NoError(t, err)
	require.Equal(t, testPAN, string(pan.Bytes()))
	require.Equal(t, testExpiry, string(exp.Bytes()))
	pan.Wipe()
	exp.Wipe()
}

func TestKeyFileRefused(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir, key string)
		want    string
	}{
		{"group readable", func(t *testing.T, _, key string) {
			require.NoError(t, os.WriteFile(key, make([]byte, KeySize), 0o640))
			require.NoError(t, os.Chmod(key, 0o640)) // beat the umask
		}, "mode 0640, readable by group or others"},
		{"world readable", func(t *testing.T, _, key string) {
			require.NoError(t, os.WriteFile(key, make([]byte, KeySize), 0o604))
			require.NoError(t, os.Chmod(key, 0o604))
		}, "readable by group or others"},
		{"too short", func(t *testing.T, _, key string) {
			require.NoError(t, os.WriteFile(key, make([]byte, 16), 0o600))
		}, "holds 16 bytes, want exactly 32"},
		{"hex text instead of raw bytes", func(t *testing.T, _, key string) {
			require.NoError(t, os.WriteFile(key, bytes.Repeat([]byte("ab"), KeySize), 0o600))
		}, "holds 64 bytes, want exactly 32"},
		{"directory", func(t *testing.T, _, key string) {
			require.NoError(t, os.Mkdir(key, 0o700))
		}, "not a regular file"},
		{"store without its key", func(t *testing.T, dir, key string) {
			l, err := NewLocal(LocalConfig{Dir: dir, KeyFile: key}, nil)
			require.NoError(t, err)
			require.NoError(t, l.Close())
			require.NoError(t, os.Remove(key))
		}, "key file " + "%KEY%" + " is missing"},
		{"another key", func(t *testing.T, dir, key string) {
			l, err := NewLocal(LocalConfig{Dir: dir, KeyFile: key}, nil)
			require.NoError(t, err)
			require.NoError(t, l.Close())
			require.NoError(t, os.WriteFile(key, bytes.Repeat([]byte{7}, KeySize), 0o600))
		}, "does not open store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key := filepath.Join(dir, "vault.key")
			tt.prepare(t, dir, key)
			_, err := NewLocal(LocalConfig{Dir: dir, KeyFile: key}, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), strings.ReplaceAll(tt.want, "%KEY%", key))
		})
	}
}

func TestTokenForm(t *testing.T) {
	l := newTestLocal(t, LocalConfig{})
	pans := []string{
		"4111111111111111", "4222222222222", "5555555555554444", "2223003122003222",
		"378282246310005", "6011111111111117", "3530111333300000", "30569309025904",
		"6200000000000005", "6759649826438453", "4000000000000000006",
	}
	for i, p := range pans {
		for j := range 50 {
			res, err := l.Tokenize(context.Background(), request(p+"/"+string(rune('a'+i))+string(rune('a'+j%26))+string(rune('a'+j/26)), p, testExpiry, ""))
			require.NoError(t, err)
			tok := res.Token
			require.Len(t, tok, len(p))
			require.Equal(t, p[len(p)-4:], tok[len(tok)-4:], "same last four")
			require.Equal(t, p[len(p)-4:], res.Last4)
			require.Equal(t, card.NewPAN([]byte(p)).Brand(), res.Brand)
			require.False(t, card.Luhn([]byte(tok)), "token must fail Luhn")
			require.NotEqual(t, p, tok)
			require.True(t, IsToken(tok))
			require.Equal(t, card.Unknown, card.NewPAN([]byte(tok)).Brand(), "token must not look like any brand")
			require.Error(t, card.NewPAN([]byte(tok)).Validate())
			require.False(t, card.HoldsPAN([]byte(tok)), "no stretch of a token may pass for a card number")
		}
	}
}

// Draws with a card-like stretch are drawn again: over many tokens none
// holds one, although about 7 % of plain 16-digit draws would.
func TestNewTokenAvoidsCardLikeStretches(t *testing.T) {
	pan := []byte("4111111111111111")
	for range 5000 {
		tok, err := newToken(pan, rand.Reader)
		require.NoError(t, err)
		require.False(t, card.HoldsPAN([]byte(tok)), tok)
		require.True(t, IsToken(tok))
	}
	// A broken source that repeats one card-like draw ends in an error, not
	// a loop, and the error holds no digit.
	for d := byte(0); d < 10; d++ {
		tok, err := newToken(pan, repeatReader{d})
		if err == nil {
			require.False(t, card.HoldsPAN([]byte(tok)))
			continue
		}
		require.ErrorContains(t, err, "no token free of card-like digit runs")
		require.NotRegexp(t, `\d{4}`, err.Error())
		return
	}
	t.Fatal("no repeated digit gives a card-like draw for this card: pick another")
}

func TestIsToken(t *testing.T) {
	require.False(t, IsToken(testPAN))
	require.False(t, IsToken("9111111111111111"[:11]))
	require.False(t, IsToken("91111111111111a1"))
	valid := "900000000000000" + string(card.LuhnDigit([]byte("900000000000000")))
	require.False(t, IsToken(valid), "passes Luhn")
	invalid := []byte(valid)
	invalid[15] = '0' + (invalid[15]-'0'+1)%10
	require.True(t, IsToken(string(invalid)))
}

func TestTokenizeIdempotent(t *testing.T) {
	l := newTestLocal(t, LocalConfig{})
	ctx := context.Background()
	a, err := l.Tokenize(ctx, request("cap-1", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	again, err := l.Tokenize(ctx, request("cap-1", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	require.Equal(t, a, again)

	other, err := l.Tokenize(ctx, request("cap-2", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	require.NotEqual(t, a.Token, other.Token, "a new capture gets a new token")

	_, err = l.Tokenize(ctx, request("cap-1", "5555555555554444", testExpiry, testCVV))
	require.ErrorIs(t, err, ErrIdempotencyConflict)
	_, err = l.Tokenize(ctx, request("cap-1", testPAN, "0131", testCVV))
	require.ErrorIs(t, err, ErrIdempotencyConflict)
	require.NotContains(t, err.Error(), "4444")
}

// repeatReader yields the same bytes again and again, so every token drawn
// from it is the same.
type repeatReader struct{ b byte }

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b
	}
	return len(p), nil
}

// seqReader hands out its chunks in turn, then repeats the last.
type seqReader struct{ chunks []byte }

func (r *seqReader) Read(p []byte) (int, error) {
	b := r.chunks[0]
	if len(r.chunks) > 1 {
		r.chunks = r.chunks[1:]
	}
	for i := range p {
		p[i] = b
	}
	return len(p), nil
}

func TestTokenNeverCollides(t *testing.T) {
	l := newTestLocal(t, LocalConfig{})
	ctx := context.Background()
	l.rand = repeatReader{3}
	first, err := l.Tokenize(ctx, request("cap-1", testPAN, testExpiry, ""))
	require.NoError(t, err)

	// Same randomness again: the first draw is taken, so a second is made.
	l.rand = &seqReader{chunks: []byte{3, 3, 5}}
	second, err := l.Tokenize(ctx, request("cap-2", testPAN, testExpiry, ""))
	require.NoError(t, err)
	require.NotEqual(t, first.Token, second.Token)

	// Randomness stuck: give up cleanly rather than overwrite.
	l.rand = repeatReader{3}
	_, err = l.Tokenize(ctx, request("cap-3", testPAN, testExpiry, ""))
	require.ErrorContains(t, err, "no unused token")
	pan, _, err := l.Detokenize(ctx, first.Token)
	require.NoError(t, err)
	require.Equal(t, testPAN, string(pan.Bytes()))
}

func TestCVVHeldForTTLThenWiped(t *testing.T) {
	l := newTestLocal(t, LocalConfig{CVVTTL: 50 * time.Millisecond})
	ctx := context.Background()
	res, err := l.Tokenize(ctx, request("cap-1", testPAN, testExpiry, testCVV))
	require.NoError(t, err)

	l.cvv.mu.Lock()
	held := l.cvv.m[res.Token].cvv.Bytes()
	l.cvv.mu.Unlock()
	raw := held[:cap(held)]
	require.Equal(t, testCVV, string(held))

	require.Eventually(t, func() bool { return l.cvv.len() == 0 }, 2*time.Second, 5*time.Millisecond)
	l.cvv.mu.Lock()
	for i, b := range raw {
		require.Zerof(t, b, "byte %d of the expired code not wiped", i)
	}
	l.cvv.mu.Unlock()
	_, err = l.TakeCVV(res.Token)
	require.ErrorIs(t, err, ErrNoCVV)
}

func TestTakeCVVOnce(t *testing.T) {
	l := newTestLocal(t, LocalConfig{})
	req := request("cap-1", testPAN, testExpiry, testCVV)
	res, err := l.Tokenize(context.Background(), req)
	require.NoError(t, err)
	req.CVV.Wipe() // the caller's copy goes; the vault's stays
	req.PAN.Wipe()
	req.Expiry.Wipe()

	c, err := l.TakeCVV(res.Token)
	require.NoError(t, err)
	require.Equal(t, testCVV, string(c.Bytes()))
	c.Wipe()
	_, err = l.TakeCVV(res.Token)
	require.ErrorIs(t, err, ErrNoCVV)

	pan, exp, err := l.Detokenize(context.Background(), res.Token)
	require.NoError(t, err)
	require.Equal(t, testPAN, string(pan.Bytes()))
	require.Equal(t, testExpiry, string(exp.Bytes()))
}

func TestCloseWipesCVVs(t *testing.T) {
	l := newTestLocal(t, LocalConfig{})
	res, err := l.Tokenize(context.Background(), request("cap-1", testPAN, testExpiry, testCVV))
	require.NoError(t, err)
	l.cvv.mu.Lock()
	held := l.cvv.m[res.Token].cvv.Bytes()
	l.cvv.mu.Unlock()
	raw := held[:cap(held)]
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close is idempotent")
	require.Equal(t, make([]byte, len(raw)), raw)

	_, err = l.Tokenize(context.Background(), request("cap-2", testPAN, testExpiry, testCVV))
	require.ErrorIs(t, err, ErrClosed)
	_, _, err = l.Detokenize(context.Background(), res.Token)
	require.ErrorIs(t, err, ErrClosed)
}

// TestStoreHoldsNoCardData reads the bbolt file as raw bytes: no PAN, no
// expiry, no security code, in ASCII or as packed digits.
func TestStoreHoldsNoCardData(t *testing.T) {
	dir := t.TempDir()
	l := newTestLocal(t, LocalConfig{Dir: dir})
	cards := []struct{ pan, exp, cvv string }{
		{testPAN, "1230", "737"},
		{"378282246310005", "0729", "8642"},
		{"5555555555554444", "0931", "915"},
	}
	var tokens []string
	for i, c := range cards {
		res, err := l.Tokenize(context.Background(), request("capture-"+string(rune('a'+i)), c.pan, c.exp, c.cvv))
		require.NoError(t, err)
		tokens = append(tokens, res.Token)
	}
	require.NoError(t, l.Close())

	raw, err := os.ReadFile(filepath.Join(dir, "vault.db"))
	require.NoError(t, err)
	// Tokens are stored in clear by design; their random digits could hold
	// a four-digit expiry by chance, so blank them before searching.
	for _, tok := range tokens {
		raw = bytes.ReplaceAll(raw, []byte(tok), bytes.Repeat([]byte{'-'}, len(tok)))
	}
	for _, c := range cards {
		for _, secret := range []string{c.pan, c.pan[:12], c.exp, c.cvv} {
			require.NotContains(t, string(raw), secret, "store file holds card data in clear")
		}
		require.False(t, bytes.Contains(raw, bcd(c.pan)), "store holds the PAN as packed digits")
	}
	key, err := os.ReadFile(filepath.Join(dir, "vault.key"))
	require.NoError(t, err)
	require.False(t, bytes.Contains(raw, key), "store holds the key")
}

// bcd packs digits two to a byte.
func bcd(s string) []byte {
	var out []byte
	for i := 0; i+1 < len(s); i += 2 {
		out = append(out, (s[i]-'0')<<4|(s[i+1]-'0'))
	}
	return out
}

func TestInvalidRequestsNeverEchoDigits(t *testing.T) {
	l := newTestLocal(t, LocalConfig{})
	tests := []struct {
		name string
		req  Request
		want error
	}{
		{"no capture id", request("", testPAN, testExpiry, testCVV), ErrInvalidRequest},
		{"luhn", request("c", "4111111111111112", testExpiry, testCVV), card.ErrLuhn},
		{"brand", request("c", "9111111111111111", testExpiry, testCVV), card.ErrUnknownBrand},
		{"expiry", request("c", testPAN, "1399", testCVV), card.ErrExpiryFormat},
		{"cvv length", request("c", "378282246310005", testExpiry, "737"), card.ErrCVVLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Tokenize(context.Background(), tt.req)
			require.ErrorIs(t, err, ErrInvalidRequest)
			require.ErrorIs(t, err, tt.want)
			for _, s := range []string{"4111", "1111", "1399", "737", "1230"} {
				require.NotContains(t, err.Error(), s)
			}
		})
	}
	_, _, err := l.Detokenize(context.Background(), testPAN)
	require.ErrorIs(t, err, ErrNotFound)
	_, _, err = l.Detokenize(context.Background(), "9000000000000002")
	require.True(t, IsToken("9000000000000002"))
	require.ErrorIs(t, err, ErrNotFound)
}

func TestExpiryAndCVVOptional(t *testing.T) {
	l := newTestLocal(t, LocalConfig{})
	res, err := l.Tokenize(context.Background(), Request{CaptureID: "c", PAN: card.NewPAN([]byte(testPAN))})
	require.NoError(t, err)
	pan, exp, err := l.Detokenize(context.Background(), res.Token)
	require.NoError(t, err)
	require.Equal(t, testPAN, string(pan.Bytes()))
	require.Zero(t, exp.Len())
	_, err = l.TakeCVV(res.Token)
	require.True(t, errors.Is(err, ErrNoCVV))
}

func TestLocalConfigValidate(t *testing.T) {
	var c LocalConfig
	require.NoError(t, c.Validate())
	require.Equal(t, LocalConfig{Dir: "./data", KeyFile: "data/vault.key", CVVTTL: time.Minute}, c)
	c = LocalConfig{CVVTTL: time.Hour}
	require.ErrorContains(t, c.Validate(), "cvv_ttl")
}

func TestStoreLockedByAnotherOpener(t *testing.T) {
	dir := t.TempDir()
	newTestLocal(t, LocalConfig{Dir: dir})
	_, err := NewLocal(LocalConfig{Dir: dir}, nil)
	require.ErrorContains(t, err, "is locked: held by another process")
	require.ErrorIs(t, err, ErrHeld)
}
