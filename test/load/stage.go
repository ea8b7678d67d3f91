package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/vault"
)

// captures installs tonewall's capture stage on relayed calls, with a
// capture window open on each when the mode is "open", and on one call in
// mixShare when it is "mix" (the rest closed, as on a capture-enabled route
// in production: every call has the stage, few have a window open).
type captures struct {
	mode string
	svc  *capture.Service
}

// newCaptures serves o.stage, one stage or (with -phase) a list of them.
func newCaptures(o options) (*captures, error) {
	c := &captures{mode: o.stage}
	need := false
	for _, st := range strings.Split(o.stage, ",") {
		switch st {
		case "none":
		case "closed", "open", "mix":
			need = true
		default:
			return nil, fmt.Errorf("-stage %q: want none, closed, open or mix", st)
		}
	}
	if !need {
		return c, nil
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
	c.svc = capture.NewService(cfg, v, nil, nil, zap.NewNop())
	return c, nil
}

// mixShare is one call in how many with a window open in mode mix: 5 %.
const mixShare = 20

func (c *captures) install(s *media.Session, id string, call int) error {
	st, err := c.stage(c.mode, id, call)
	if st != nil {
		s.SetStage(st)
	}
	return err
}

// stage is call number call's stage in a mode: nil for none, else a
// controller attached as id, with a window open in mode open, and in mode
// mix on every mixShare-th call.
func (c *captures) stage(mode, id string, call int) (media.Stage, error) {
	if mode == "none" {
		return nil, nil
	}
	ctrl, err := c.svc.Attach(id, capture.Point{Policy: "api"})
	if err != nil {
		return nil, err
	}
	if mode == "open" || (mode == "mix" && call%mixShare == 0) {
		_, err = c.svc.Start(id, capture.Request{Fields: []string{"pan"}})
	}
	return ctrl, err
}
