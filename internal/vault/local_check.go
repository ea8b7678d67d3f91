package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CheckLocal tells whether NewLocal(cfg) would open the store, as far as it
// can without creating anything or waiting on the store's lock, so that it
// can run beside the tonewall that has the store open: an existing key file
// must be sound, and an existing store must open with it. Whether missing
// files can be created is the caller's to prove. While another process has
// the store open, CheckLocal returns an error wrapping ErrHeld.
func CheckLocal(cfg LocalConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := refuseOrphanStore(cfg); err != nil {
		return err
	}
	key, err := readKey(cfg.KeyFile)
	if key == nil || err != nil {
		return err
	}
	s, err := newSealer(key)
	wipe(key)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.dbPath()); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// Read-only takes a shared lock; a timeout this short never waits.
	db, err := openStore(cfg, &bolt.Options{ReadOnly: true, Timeout: time.Nanosecond})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil && meta.Get(keyKeyCheck) != nil {
			return checkKey(s, meta.Get(keyKeyCheck), cfg)
		}
		return nil
	})
}

// readKey reads an existing key file as loadOrCreateKey does; nil when the
// file does not exist.
func readKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vault: key file: %w", err)
	}
	if err := checkKeyFile(path, fi); err != nil {
		return nil, err
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault: key file: %w", err)
	}
	return key, nil
}

// checkKey tells whether the sealer's key opens the store's key check.
func checkKey(s *sealer, check []byte, cfg LocalConfig) error {
	if _, err := s.open(check, keyCheckAAD); err != nil {
		return fmt.Errorf("vault: key file %s does not open store %s (wrong key?)", cfg.KeyFile, cfg.dbPath())
	}
	return nil
}
