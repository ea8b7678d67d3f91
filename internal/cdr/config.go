package cdr

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tonewall/tonewall/internal/config"
)

// Config is the `cdr` section of tonewall.yaml.
type Config struct {
	File          string        `yaml:"file"`           // JSON lines, created 0600; empty: no records
	Fsync         string        `yaml:"fsync"`          // every_record | interval | never; default interval
	FsyncInterval time.Duration `yaml:"fsync_interval"` // with fsync interval; default 1s
	MaxSize       string        `yaml:"max_size"`       // e.g. 100MB: past it the file is renamed aside; empty or 0: no limit
	Queue         int           `yaml:"queue"`          // records waiting to be written; past it they are dropped (counted); default 4096

	maxBytes int64 // MaxSize parsed
}

// Fsync policies.
const (
	FsyncEveryRecord = "every_record" // each batch written is fsynced before the next
	FsyncInterval    = "interval"     // fsynced every fsync_interval when anything was written
	FsyncNever       = "never"        // left to the kernel
)

// Enabled reports whether records are written.
func (c Config) Enabled() bool { return c.File != "" }

// Validate fills defaults and checks the section. Its errors are
// *config.FieldError.
func (c *Config) Validate() error {
	if err := config.OneOf("cdr.fsync", &c.Fsync, FsyncInterval, FsyncEveryRecord, FsyncNever); err != nil {
		return err
	}
	config.Default(&c.FsyncInterval, time.Second)
	config.Default(&c.Queue, 4096)
	if c.FsyncInterval < 0 {
		return config.Errorf("cdr.fsync_interval", "must be a positive duration such as 1s, not %v", c.FsyncInterval)
	}
	if c.Queue < 0 {
		return config.Errorf("cdr.queue", "must be positive (0 takes the default), not %d", c.Queue)
	}
	if c.File == "-" {
		return config.Errorf("cdr.file", "must be a file path")
	}
	n, err := parseSize(c.MaxSize)
	if err != nil {
		return config.Errorf("cdr.max_size", "%v", err)
	}
	c.maxBytes = n
	return nil
}

// parseSize reads a size such as 512KB, 100MB or 2GB (powers of 1024), or
// a plain number of bytes; "" is 0.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}} {
		if strings.HasSuffix(strings.ToUpper(s), u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-2]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, errors.New("want a size such as 100MB (KB, MB, GB) or a number of bytes")
	}
	return n * mult, nil
}
