package vault

import (
	"fmt"
	"path/filepath"
	"time"
)

// LocalConfig configures the embedded vault (the vault.local YAML section).
type LocalConfig struct {
	Dir     string        `yaml:"dir"`      // data directory, created 0700; default ./data
	KeyFile string        `yaml:"key_file"` // 32-byte AES-256 key, created 0600 when absent; default <dir>/vault.key
	CVVTTL  time.Duration `yaml:"cvv_ttl"`  // how long a security code is held in memory for one authorization; default 60s
}

// Default values of LocalConfig.
const (
	DefaultDir    = "./data"
	DefaultCVVTTL = 60 * time.Second
	// MaxCVVTTL bounds how long a security code may sit in memory.
	MaxCVVTTL = 15 * time.Minute
)

// Validate fills defaults and rejects impossible values.
func (c *LocalConfig) Validate() error {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.KeyFile == "" {
		c.KeyFile = filepath.Join(c.Dir, "vault.key")
	}
	if c.CVVTTL == 0 {
		c.CVVTTL = DefaultCVVTTL
	}
	if c.CVVTTL < 0 || c.CVVTTL > MaxCVVTTL {
		return fmt.Errorf("vault.local.cvv_ttl %s: must be between 0s and %s", c.CVVTTL, MaxCVVTTL)
	}
	return nil
}

func (c *LocalConfig) dbPath() string { return filepath.Join(c.Dir, "vault.db") }
