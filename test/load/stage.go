package main

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/vault"
)

// captures installs tonewall's capture stage on relayed calls, with a
// capture window open on each when the mode is "open".
type captures struct {
	mode string
	svc  *capture.Service
}

func newCaptures(o options) (*captures, error) {
	c := &captures{mode: o.stage}
	switch o.stage {
	case "none":
		return c, nil
	case "closed", "open":
	default:
		return nil, fmt.Errorf("-stage %q: want none, closed or open", o.stage)
	}
	dir, err := os.MkdirTemp("", "load-vault")
	if err != nil {
		return nil, err
	}
	v, err := vault.NewLocal(vault.LocalConfig{Dir: dir}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	cfg := capture.Config{FirstDigitTimeout: time.Hour, Timeout: time.Hour}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c.svc = capture.NewService(cfg, v, nil, zap.NewNop())
	return c, nil
}

func (c *captures) install(s *media.Session, id string) error {
	if c.svc == nil {
		return nil
	}
	ctrl, err := c.svc.Attach(id, capture.Point{Policy: "api"})
	if err != nil {
		return err
	}
	s.SetStage(ctrl)
	if c.mode == "open" {
		_, err = c.svc.Start(id, capture.Request{Fields: []string{"pan"}})
	}
	return err
}
