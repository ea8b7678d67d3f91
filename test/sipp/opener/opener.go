package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Opening a window is tried this many times, this far apart, while the API
// answers anything but 201 (a call can be listed a moment before the
// capture service knows it), unless the answer says it never will.
const (
	openTries = 20
	openPause = 100 * time.Millisecond
)

// opener decides, for each new call from the payment trunks, whether it
// gets a window, and opens the windows.
type opener struct {
	api    *client
	rec    *record
	share  int
	trunk  string
	fields []string

	n    int             // calls decided so far
	seen map[string]bool // the decided calls of the last listing
	wg   sync.WaitGroup  // windows being opened
}

// run lists the calls every period until ctx ends, then waits for the
// windows being opened.
func (o *opener) run(ctx context.Context, every time.Duration) {
	defer o.wg.Wait()
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last string
	for {
		if err := o.poll(ctx); err != nil && ctx.Err() == nil && err.Error() != last {
			log.Print(err) // tonewall may be busy: keep going, say each new error once
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poll decides on the calls that are new since the last listing, in the
// order they were created, and starts opening the windows.
func (o *opener) poll(ctx context.Context) error {
	calls, err := o.api.calls(ctx)
	if err != nil {
		return err
	}
	listed := make(map[string]bool, len(o.seen))
	var fresh []call
	for _, c := range calls {
		if !strings.HasPrefix(c.FromTrunk, o.trunk) {
			continue
		}
		listed[c.ID] = true
		if !o.seen[c.ID] {
			fresh = append(fresh, c)
		}
	}
	o.seen = listed
	slices.SortFunc(fresh, func(a, b call) int { return a.Created.Compare(b.Created) })
	for _, c := range fresh {
		win := windowed(o.n, o.share)
		o.n++
		if !win {
			o.rec.line("decided %s %s open", c.ID, c.CC)
			continue
		}
		o.rec.line("decided %s %s window", c.ID, c.CC)
		o.wg.Add(1)
		go o.open(c)
	}
	return nil
}

// windowed is whether the n-th call (from 0) gets a window when share % of
// the calls do, spread evenly: 50 is every other call, 20 every fifth.
func windowed(n, share int) bool {
	return (n+1)*share/100 > n*share/100
}

// open opens a window on c and records the outcome. It runs to its end
// even when the opener is stopped, so that every decided window is
// recorded as opened or refused.
func (o *opener) open(c call) {
	defer o.wg.Done()
	var status int
	var body []byte
	for try := 1; try <= openTries; try++ {
		st, b, capture, err := o.api.openWindow(context.Background(), c.ID, o.fields)
		if err == nil && capture != "" {
			o.rec.line("window %s %s %d %s", c.ID, c.CC, time.Since(c.Created).Milliseconds(), capture)
			return
		}
		status, body = st, b
		if err != nil {
			body = []byte(err.Error())
		}
		if st == http.StatusConflict || st == http.StatusBadRequest {
			break // the call has ended or holds a window already, or the request is wrong
		}
		time.Sleep(openPause)
	}
	o.rec.line("refused %s %s %d %s", c.ID, c.CC, status, strings.Join(strings.Fields(string(body)), " "))
}

// record appends lines to the result file, one write a line.
type record struct {
	mu sync.Mutex
	w  io.Writer
}

func newRecord(w io.Writer) *record { return &record{w: w} }

func (r *record) line(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := fmt.Fprintf(r.w, format+"\n", a...); err != nil {
		log.Print(err)
	}
}
