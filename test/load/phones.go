package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"
)

// The simulated phones run in a process of their own, the same binary with
// -role phones, so that the parent's CPU time is the relay's (or the bare
// forwarder's) alone. The two talk in JSON lines over the child's stdin and
// stdout:
//
//	phones → parent  hello: each phone's port and SRTP key (carrier, contact center, per call)
//	parent → phones  wiring: where each phone sends and the key it receives with
//	phones → parent  ready
//	parent → phones  go (the parent starts its CPU clock)
//	phones → parent  done, when the last packets have had time to land (the parent stops it)
//	phones → parent  result: counts, latencies and the phones' own CPU time
type endpoint struct {
	Port int    `json:"port"`
	Key  []byte `json:"key,omitempty"`
}

type hello struct {
	Phones []endpoint `json:"phones"` // 2 per call: carrier, contact center
}

type wiring struct {
	Peers []endpoint `json:"peers"` // per phone: where it sends, and its receive key
}

type message struct {
	Msg    string  `json:"msg"` // ready | go | done | result
	Result *result `json:"result,omitempty"`
}

// drain is how long the phones wait, after the last send, for the last
// packets to land.
const drain = 200 * time.Millisecond

// runPhones is the -role phones process.
func runPhones(o options) error {
	in, out := json.NewDecoder(bufio.NewReader(os.Stdin)), json.NewEncoder(os.Stdout)
	phones := make([]*phone, 2*o.calls)
	var h hello
	for i := range phones {
		p, err := newPhone(o.srtp)
		if err != nil {
			return err
		}
		phones[i] = p
		h.Phones = append(h.Phones, endpoint{Port: p.Port(), Key: p.key})
	}
	for i := 0; i < len(phones); i += 2 {
		phones[i].src, phones[i+1].src = phones[i+1], phones[i]
	}
	if err := out.Encode(h); err != nil {
		return err
	}
	var w wiring
	if err := in.Decode(&w); err != nil {
		return fmt.Errorf("wiring: %w", err)
	}
	if len(w.Peers) != len(phones) {
		return fmt.Errorf("wiring for %d phones, have %d", len(w.Peers), len(phones))
	}
	for i, p := range phones {
		if err := p.connect(w.Peers[i], o.srtp); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	for _, p := range phones {
		wg.Add(1)
		go func() { defer wg.Done(); p.receive() }()
	}
	if err := expect(in, out, "ready", "go"); err != nil {
		return err
	}
	before := cpuTime()
	drive(phones, o.duration)
	time.Sleep(drain)
	cpu := cpuTime() - before
	if err := out.Encode(message{Msg: "done"}); err != nil {
		return err
	}
	for _, p := range phones {
		p.Close()
	}
	wg.Wait()
	r := collect(phones)
	r.PhonesCPU = cpu
	return out.Encode(message{Msg: "result", Result: &r})
}

// expect sends say, then reads one message and checks it is want.
func expect(in *json.Decoder, out *json.Encoder, say, want string) error {
	if say != "" {
		if err := out.Encode(message{Msg: say}); err != nil {
			return err
		}
	}
	var m message
	if err := in.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("waiting for %q: %w", want, err)
	}
	if m.Msg != want {
		return fmt.Errorf("got %q, want %q", m.Msg, want)
	}
	return nil
}

func collect(phones []*phone) result {
	var r result
	var lat []time.Duration
	for _, p := range phones {
		r.Sent += p.sent.Load()
		r.Received += p.received
		r.Timed += p.timed
		lat = append(lat, p.lat...)
	}
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	r.P50, r.P99, r.Max = pct(0.5), pct(0.99), pct(1)
	return r
}

// drive sends one packet from every phone every 20 ms, spread over a few
// sender goroutines, each call at its own phase.
func drive(phones []*phone, d time.Duration) {
	const shards = 4
	var wg sync.WaitGroup
	for s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf, sealed := make([]byte, 1500), make([]byte, 1500)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			time.Sleep(time.Duration(s) * 5 * time.Millisecond)
			for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
				for i := 2 * s; i < len(phones); i += 2 * shards {
					phones[i].send(buf, sealed)
					phones[i+1].send(buf, sealed)
				}
			}
		}()
	}
	wg.Wait()
}
