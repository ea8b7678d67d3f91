package vault

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/card"
)

// bbolt buckets of the local store.
var (
	bucketTokens   = []byte("tokens")   // token → sealed PAN and expiry
	bucketCaptures = []byte("captures") // capture id → token (idempotency)
	bucketMeta     = []byte("meta")     // "keycheck" → a sealed constant, proving the key matches
	keyKeyCheck    = []byte("keycheck")
)

// maxTokenAttempts bounds the search for an unused token. Even a 12-digit PAN
// leaves 10^7 tokens; failing 16 draws in a row means the store is full.
const maxTokenAttempts = 16

// Local is the embedded vault: sealed records in a bbolt file, security codes
// in memory only. It owns the open store file and one timer per held security
// code; Close releases both.
type Local struct {
	log  *zap.Logger
	db   *bolt.DB
	seal *sealer
	cvv  *cvvStore
	rand io.Reader // crypto/rand; tests substitute

	closeOnce sync.Once
	closeErr  error
}

var (
	_ Vault     = (*Local)(nil)
	_ CVVHolder = (*Local)(nil)
)

// NewLocal opens (or creates) the store under cfg.Dir with the key in
// cfg.KeyFile. It starts no goroutines. log may be nil.
func NewLocal(cfg LocalConfig, log *zap.Logger) (*Local, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: data directory: %w", err)
	}
	if err := refuseOrphanStore(cfg); err != nil {
		return nil, err
	}
	key, created, err := loadOrCreateKey(cfg.KeyFile, rand.Reader)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("vault key created", zap.String("key_file", cfg.KeyFile))
	}
	s, err := newSealer(key)
	wipe(key) // the cipher keeps its own expanded key
	if err != nil {
		return nil, err
	}
	db, err := openStore(cfg, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	l := &Local{log: log, db: db, seal: s, cvv: newCVVStore(cfg.CVVTTL), rand: rand.Reader}
	if err := l.init(cfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	log.Info("vault opened", zap.String("driver", "local"), zap.String("store", cfg.dbPath()))
	return l, nil
}

// ErrHeld is wrapped by NewLocal's and CheckLocal's errors when another
// process has the store open.
var ErrHeld = errors.New("held by another process (another tonewall on the same data directory?)")

// openStore opens the bbolt file; Timeout bounds the wait for its lock.
func openStore(cfg LocalConfig, opts *bolt.Options) (*bolt.DB, error) {
	db, err := bolt.Open(cfg.dbPath(), 0o600, opts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("vault: store %s is locked: %w", cfg.dbPath(), ErrHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: open store %s: %w", cfg.dbPath(), err)
	}
	return db, nil
}

// refuseOrphanStore stops a missing key file from being replaced by a new one
// while a store sealed under the old key exists.
func refuseOrphanStore(cfg LocalConfig) error {
	_, kerr := os.Stat(cfg.KeyFile)
	_, derr := os.Stat(cfg.dbPath())
	if errors.Is(kerr, fs.ErrNotExist) && derr == nil {
		return fmt.Errorf("vault: store %s exists but key file %s is missing; restore the key (a new key cannot open the store)", cfg.dbPath(), cfg.KeyFile)
	}
	return nil
}

// init creates the buckets and checks (or records) that the key opens the store.
func (l *Local) init(cfg LocalConfig) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTokens, bucketCaptures, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("vault: %w", err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if check := meta.Get(keyKeyCheck); check != nil {
			return checkKey(l.seal, check, cfg)
		}
		check, err := l.seal.seal(l.rand, []byte("tonewall"), keyCheckAAD)
		if err != nil {
			return err
		}
		return meta.Put(keyKeyCheck, check)
	})
}

// Tokenize implements Vault. The record is committed (fsynced) before the
// token is returned. The security code, if any, is kept in memory only.
func (l *Local) Tokenize(ctx context.Context, req Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := req.validate(); err != nil {
		return Result{}, err
	}
	var token string
	err := l.db.Update(func(tx *bolt.Tx) error {
		var err error
		token, err = l.tokenizeTx(tx, req)
		return err
	})
	if err != nil {
		return Result{}, l.mapErr(err)
	}
	if req.CVV.Len() > 0 {
		l.cvv.put(token, req.CVV)
	}
	return resultFor(token, req.PAN), nil
}

func (l *Local) tokenizeTx(tx *bolt.Tx, req Request) (string, error) {
	captures, tokens := tx.Bucket(bucketCaptures), tx.Bucket(bucketTokens)
	if t := captures.Get([]byte(req.CaptureID)); t != nil {
		token := string(t)
		return token, l.sameCard(tokens.Get(t), token, req)
	}
	token, err := l.unusedToken(tokens, req.PAN.Bytes())
	if err != nil {
		return "", err
	}
	plain := encodeCard(req.PAN.Bytes(), req.Expiry.Bytes())
	sealed, err := l.seal.seal(l.rand, plain, recordAAD(token))
	wipe(plain)
	if err != nil {
		return "", err
	}
	if err := tokens.Put([]byte(token), sealed); err != nil {
		return "", fmt.Errorf("vault: %w", err)
	}
	if err := captures.Put([]byte(req.CaptureID), []byte(token)); err != nil {
		return "", fmt.Errorf("vault: %w", err)
	}
	return token, nil
}

// sameCard checks that a repeated capture id carries the card it was first
// tokenized with.
func (l *Local) sameCard(sealed []byte, token string, req Request) error {
	if sealed == nil {
		return fmt.Errorf("vault: capture %q maps to a missing record", req.CaptureID)
	}
	pan, exp, err := l.openRecord(sealed, token)
	if err != nil {
		return err
	}
	defer pan.Wipe()
	defer exp.Wipe()
	if !pan.Equal(req.PAN.Secret) || !exp.Equal(req.Expiry.Secret) {
		return ErrIdempotencyConflict
	}
	return nil
}

func (l *Local) unusedToken(tokens *bolt.Bucket, pan []byte) (string, error) {
	for range maxTokenAttempts {
		t, err := newToken(pan, l.rand)
		if err != nil {
			return "", err
		}
		if tokens.Get([]byte(t)) == nil {
			return t, nil
		}
	}
	return "", errors.New("vault: no unused token found; the store is full for this card length and last four")
}

// Detokenize implements Vault. The caller wipes the returned Secrets.
func (l *Local) Detokenize(ctx context.Context, token string) (card.PAN, card.Expiry, error) {
	if err := ctx.Err(); err != nil {
		return card.PAN{}, card.Expiry{}, err
	}
	if !IsToken(token) {
		return card.PAN{}, card.Expiry{}, ErrNotFound
	}
	var pan card.PAN
	var exp card.Expiry
	err := l.db.View(func(tx *bolt.Tx) error {
		sealed := tx.Bucket(bucketTokens).Get([]byte(token))
		if sealed == nil {
			return ErrNotFound
		}
		var err error
		pan, exp, err = l.openRecord(sealed, token)
		return err
	})
	if err != nil {
		return card.PAN{}, card.Expiry{}, l.mapErr(err)
	}
	return pan, exp, nil
}

func (l *Local) openRecord(sealed []byte, token string) (card.PAN, card.Expiry, error) {
	plain, err := l.seal.open(sealed, recordAAD(token))
	if err != nil {
		return card.PAN{}, card.Expiry{}, err
	}
	defer wipe(plain)
	return decodeCard(plain)
}

// TakeCVV implements CVVHolder: the code is handed over once, for one
// authorization, and the caller wipes it.
func (l *Local) TakeCVV(token string) (card.CVV, error) {
	c, ok := l.cvv.take(token)
	if !ok {
		return card.CVV{}, ErrNoCVV
	}
	return c, nil
}

// Close wipes the held security codes and closes the store. Idempotent.
func (l *Local) Close() error {
	l.closeOnce.Do(func() {
		l.cvv.close()
		if err := l.db.Close(); err != nil {
			l.closeErr = fmt.Errorf("vault: close store: %w", err)
		}
	})
	return l.closeErr
}

func (l *Local) mapErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}
