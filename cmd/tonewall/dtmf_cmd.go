package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tonewall/tonewall/internal/dtmf"
)

// dtmfCLI implements `tonewall dtmf detect|mask ...`. Exit status: 0 clean,
// 1 digits found (detect), 2 usage or I/O error.
var dtmfCLI = commands{name: "tonewall dtmf", usage: dtmfUsage, run: map[string]command{
	"detect": runDTMFDetect,
	"mask":   runDTMFMask,
}}

const dtmfUsage = `usage:
  tonewall dtmf detect [--json] [--format ulaw|alaw|s16] [--min-duration 37ms] FILE...
      print every keypad tone found; exit 1 if any, 0 if none, 2 on error
      (--min-duration 1ms reports tones from about 30 ms, for a stricter audit)
  tonewall dtmf mask [--lookahead 40ms] [--mode tone|silence|comfort_noise|window] [--format F] IN OUT
      run the capture-window suppressor over IN and write OUT as 8 kHz 16-bit WAV
`

// detection is one line of `dtmf detect` output.
type detection struct {
	File     string  `json:"file"`
	Key      string  `json:"key"`
	Start    float64 `json:"start_s"`
	Duration float64 `json:"duration_s"`
}

func runDTMFDetect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tonewall dtmf detect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON lines")
	format := fs.String("format", "", "raw input format: ulaw, alaw or s16 (default: WAV)")
	minDur := fs.Duration("min-duration", dtmf.DetectorConfig{}.Defaults().MinDuration, "shortest tone reported (1ms-60ms)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := dtmf.DetectorConfig{MinDuration: *minDur}
	if err := cfg.Validate(); err != nil || *minDur <= 0 {
		fmt.Fprintf(stderr, "tonewall dtmf detect: --min-duration %v: want 1ms to 60ms\n", *minDur)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, "tonewall dtmf detect: no files\n"+dtmfUsage)
		return 2
	}
	found, failed := false, false
	for _, name := range fs.Args() {
		ds, err := detectFile(name, *format, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "tonewall dtmf detect: %s: %v\n", name, err)
			failed = true
			continue
		}
		found = found || len(ds) > 0
		printDetections(stdout, ds, *asJSON)
	}
	switch {
	case failed:
		return 2
	case found:
		return 1
	}
	return 0
}

func detectFile(name, format string, cfg dtmf.DetectorConfig) ([]detection, error) {
	pcm, err := readAudio(name, format)
	if err != nil {
		return nil, err
	}
	d := dtmf.NewDetector(cfg)
	evs := make([]dtmf.Digit, 0, 16)
	var out []detection
	for off := 0; off < len(pcm); off += 160 {
		evs = d.Process(pcm[off:min(off+160, len(pcm))], evs[:0])
		out = appendEnded(out, name, evs)
	}
	return appendEnded(out, name, d.Flush(evs[:0])), nil
}

func appendEnded(out []detection, name string, evs []dtmf.Digit) []detection {
	for _, e := range evs {
		if e.End {
			out = append(out, detection{File: name, Key: string(e.Key.Char()),
				Start: e.StartTime().Seconds(), Duration: e.DurationTime().Seconds()})
		}
	}
	return out
}

func printDetections(w io.Writer, ds []detection, asJSON bool) {
	enc := json.NewEncoder(w)
	for _, d := range ds {
		if asJSON {
			_ = enc.Encode(d)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\tstart=%.3fs\tduration=%.3fs\n", d.File, d.Key, d.Start, d.Duration)
	}
}

// readAudio loads a WAV file, or a raw file when format is given.
func readAudio(name, format string) ([]int16, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if format == "" {
		if !dtmf.IsWAV(b) {
			return nil, errors.New("not a WAV file; give --format ulaw|alaw|s16 for raw audio")
		}
		return dtmf.DecodeWAV(b)
	}
	f, err := dtmf.ParseRawFormat(format)
	if err != nil {
		return nil, err
	}
	return dtmf.DecodeRaw(b, f)
}

func runDTMFMask(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tonewall dtmf mask", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lookahead := fs.Duration("lookahead", 40*time.Millisecond, "suppressor lookahead")
	mode := fs.String("mode", "tone", "replacement: "+strings.Join([]string{"tone", "silence", "comfort_noise", "window"}, "|"))
	format := fs.String("format", "", "raw input format: ulaw, alaw or s16 (default: WAV)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fmt.Fprint(stderr, "tonewall dtmf mask: need IN and OUT\n"+dtmfUsage)
		return 2
	}
	if err := maskFile(fs.Arg(0), fs.Arg(1), *format, *mode, *lookahead, stdout); err != nil {
		fmt.Fprintf(stderr, "tonewall dtmf mask: %v\n", err)
		return 2
	}
	return 0
}

// maskFile runs the suppressor exactly as the relay does, 20 ms at a time
// with the window open from the first sample, then drains the lookahead so
// OUT lines up with IN sample for sample.
func maskFile(in, out, format, mode string, lookahead time.Duration, stdout io.Writer) error {
	m, err := dtmf.ParseMaskMode(mode)
	if err != nil {
		return err
	}
	s, err := dtmf.NewSuppressor(dtmf.SuppressorConfig{Mode: m, Lookahead: lookahead})
	if err != nil {
		return err
	}
	pcm, err := readAudio(in, format)
	if err != nil {
		return err
	}
	masked, keys := suppressAll(s, pcm)
	if err := os.WriteFile(out, dtmf.AppendWAV(nil, masked), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d key presses masked, %d suspected slots, written %s\n", in, keys, s.Stats().Suspicions, out)
	return nil
}

func suppressAll(s *dtmf.Suppressor, pcm []int16) ([]int16, int) {
	s.Open()
	L := s.Lookahead()
	in := append(pcm[:len(pcm):len(pcm)], make([]int16, L)...)
	out := make([]int16, len(in))
	digits := make([]dtmf.Digit, 0, 8)
	keys := 0
	for off := 0; off < len(in); off += 160 {
		end := min(off+160, len(in))
		digits, _ = s.Process(in[off:end], out[off:end], digits[:0])
		for _, d := range digits {
			if !d.End {
				keys++
			}
		}
	}
	return out[L:], keys
}
