package audit

import "github.com/tonewall/tonewall/internal/config"

// DefaultFile is where the log lives unless configured, beside the local
// vault's store; `tonewall audit verify` reads it when no --file is given.
const DefaultFile = "./data/audit.log"

// Config is the audit YAML section.
type Config struct {
	File string `yaml:"file"` // the JSON-lines log, created 0600; default ./data/audit.log
}

// Validate fills defaults; its errors are *config.FieldError.
func (c *Config) Validate() error {
	if c.File == "" {
		c.File = DefaultFile
	}
	if c.File == "-" {
		return config.Errorf("audit.file", "must be a file path")
	}
	return nil
}
