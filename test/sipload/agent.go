package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// newAgent is a quiet agent on tp: it answers every INVITE at once (180,
// 200) and places calls, and keeps no record of them.
func newAgent(tp string) (*sipua.Agent, error) {
	a, err := sipua.Open(sipua.Options{Transport: tp, Quiet: true})
	if err != nil {
		return nil, err
	}
	a.SetPlan(func(*sip.Request) sipua.Plan { return sipua.Plan{Ring: true} })
	return a, nil
}

// dial places one call and returns it once acknowledged.
func dial(ctx context.Context, a *sipua.Agent, to string) (*sipgo.DialogClientSession, error) {
	return a.Call(ctx, to, a.SDP())
}

// fullCall is INVITE → 180 → 200 → ACK → BYE.
func fullCall(a *sipua.Agent, to string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.CallAndHangUp(ctx, to)
}

// holdCalls sets up n calls and leaves them up.
func holdCalls(a *sipua.Agent, to string, n int) ([]*sipgo.DialogClientSession, error) {
	out := make([]*sipgo.DialogClientSession, 0, n)
	sem := make(chan struct{}, 64)
	res := make(chan *sipgo.DialogClientSession, n)
	errc := make(chan error, n)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := dial(ctx, a, to)
			if err != nil {
				errc <- err
				return
			}
			res <- s
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case s := <-res:
			out = append(out, s)
		case err := <-errc:
			return out, fmt.Errorf("holding calls: %w", err)
		}
	}
	return out, nil
}

func hangup(ss []*sipgo.DialogClientSession) {
	var errs error
	for _, s := range ss {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = errors.Join(errs, s.Bye(ctx))
		cancel()
		s.Close()
	}
	_ = errs
}
