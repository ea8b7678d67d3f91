package dtmf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// RawFormat is the encoding of a headerless 8 kHz mono file.
type RawFormat int

const (
	RawUlaw RawFormat = iota // G.711 µ-law bytes
	RawAlaw                  // G.711 A-law bytes
	RawS16                   // signed 16-bit little-endian
)

// ParseRawFormat accepts ulaw, alaw or s16 (and the aliases mulaw, pcmu, pcma, slin).
func ParseRawFormat(s string) (RawFormat, error) {
	switch strings.ToLower(s) {
	case "ulaw", "mulaw", "u-law", "pcmu":
		return RawUlaw, nil
	case "alaw", "a-law", "pcma":
		return RawAlaw, nil
	case "s16", "s16le", "slin", "pcm":
		return RawS16, nil
	}
	return 0, ErrBadFormat
}

// DecodeRaw decodes a headerless 8 kHz mono file.
func DecodeRaw(b []byte, f RawFormat) ([]int16, error) {
	switch f {
	case RawUlaw:
		return DecodeUlaw(make([]int16, len(b)), b), nil
	case RawAlaw:
		return DecodeAlaw(make([]int16, len(b)), b), nil
	case RawS16:
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return pcm, nil
	}
	return nil, ErrBadFormat
}

// IsWAV reports whether b starts like a RIFF/WAVE file.
func IsWAV(b []byte) bool {
	return len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WAVE"
}

// wavFormat is the part of a fmt chunk we use.
type wavFormat struct {
	tag      uint16 // 1 PCM, 3 float, 6 A-law, 7 µ-law
	channels int
	rate     int
	bits     int
}

const (
	wavPCM        = 1
	wavFloat      = 3
	wavAlaw       = 6
	wavUlaw       = 7
	wavExtensible = 0xFFFE
)

// DecodeWAV reads a WAV file (linear PCM 8/16/24/32-bit, float 32/64-bit,
// µ-law or A-law; any
// channel count, mixed down; any rate from 4 to 192 kHz, resampled) and
// returns 8 kHz mono PCM. A data chunk cut short (a recording still being
// written) yields the samples present.
func DecodeWAV(b []byte) ([]int16, error) {
	if !IsWAV(b) {
		return nil, ErrNotWAV
	}
	var (
		f       wavFormat
		haveFmt bool
	)
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int64(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size < int64(len(body)) {
			body = body[:size]
		}
		switch id {
		case "fmt ":
			var err error
			if f, err = parseFmt(body); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("data before fmt chunk: %w", ErrWAVFormat)
			}
			return decodeData(body, f)
		}
		off += 8 + int(min(size, int64(len(b)))) + int(size&1)
	}
	return nil, ErrWAVTruncated
}

func parseFmt(b []byte) (wavFormat, error) {
	if len(b) < 16 {
		return wavFormat{}, ErrWAVTruncated
	}
	f := wavFormat{
		tag:      binary.LittleEndian.Uint16(b[0:]),
		channels: int(binary.LittleEndian.Uint16(b[2:])),
		rate:     int(binary.LittleEndian.Uint32(b[4:])),
		bits:     int(binary.LittleEndian.Uint16(b[14:])),
	}
	if f.tag == wavExtensible && len(b) >= 26 {
		f.tag = binary.LittleEndian.Uint16(b[24:]) // first bytes of the sub-format GUID
	}
	ok := f.channels >= 1 && f.channels <= 16 && f.rate >= 4000 && f.rate <= 192000 &&
		((f.tag == wavPCM && (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32)) ||
			(f.tag == wavFloat && (f.bits == 32 || f.bits == 64)) ||
			((f.tag == wavAlaw || f.tag == wavUlaw) && f.bits == 8))
	if !ok {
		return wavFormat{}, ErrWAVFormat
	}
	return f, nil
}

// decodeData turns the data chunk into 8 kHz mono.
func decodeData(b []byte, f wavFormat) ([]int16, error) {
	frame := f.channels * f.bits / 8
	n := len(b) / frame
	mono := make([]int16, n)
	for i := range mono {
		var sum int
		for c := range f.channels {
			sum += int(wavSample(b[i*frame+c*f.bits/8:], f.tag, f.bits))
		}
		mono[i] = int16(sum / f.channels)
	}
	if f.rate == SampleRate {
		return mono, nil
	}
	return Resample(mono, f.rate, SampleRate), nil
}

// wavSample reads one sample as 16-bit linear (wider samples keep their top
// 16 bits; floats are clipped to ±1).
func wavSample(b []byte, tag uint16, bits int) int16 {
	switch {
	case tag == wavUlaw:
		return ulawToLinear[b[0]]
	case tag == wavAlaw:
		return alawToLinear[b[0]]
	case tag == wavFloat && bits == 32:
		return saturate(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) * 32768)
	case tag == wavFloat:
		return saturate(math.Float64frombits(binary.LittleEndian.Uint64(b)) * 32768)
	case bits == 8:
		return int16(int(b[0])-128) << 8
	}
	return int16(binary.LittleEndian.Uint16(b[bits/8-2:])) // the top two bytes
}

// AppendWAV appends a 16-bit mono 8 kHz WAV file holding pcm.
func AppendWAV(dst []byte, pcm []int16) []byte {
	data := uint32(2 * len(pcm))
	dst = append(dst, "RIFF"...)
	dst = binary.LittleEndian.AppendUint32(dst, 36+data)
	dst = append(dst, "WAVEfmt "...)
	dst = binary.LittleEndian.AppendUint32(dst, 16)
	dst = binary.LittleEndian.AppendUint16(dst, wavPCM)
	dst = binary.LittleEndian.AppendUint16(dst, 1)
	dst = binary.LittleEndian.AppendUint32(dst, SampleRate)
	dst = binary.LittleEndian.AppendUint32(dst, 2*SampleRate)
	dst = binary.LittleEndian.AppendUint16(dst, 2)
	dst = binary.LittleEndian.AppendUint16(dst, 16)
	dst = append(dst, "data"...)
	dst = binary.LittleEndian.AppendUint32(dst, data)
	for _, s := range pcm {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(s))
	}
	return dst
}

// Resample converts src from rate from to rate to with a Blackman-windowed
// sinc low-pass at 45 % of the lower rate, read from a table of the kernel
// (linear interpolation between 256 points per input sample): clean enough
// for detection work on files, not for the packet path.
func Resample(src []int16, from, to int) []int16 {
	if from == to || len(src) == 0 {
		return append([]int16(nil), src...)
	}
	ratio := float64(to) / float64(from)
	k := newKernel(0.45 * min(1, ratio))
	out := make([]int16, int(float64(len(src))*ratio))
	for i := range out {
		out[i] = saturate(k.at(src, float64(i)/ratio))
	}
	return out
}

const kernelSteps = 256 // table points per input sample

// kernel is a tabulated windowed-sinc low-pass with cutoff fc (cycles per
// input sample) reaching half input samples each side.
type kernel struct {
	half int
	tab  []float64 // h(x) at x = j/kernelSteps - half, j in [0, 2*half*kernelSteps]
}

func newKernel(fc float64) kernel {
	half := int(math.Ceil(4 / fc))
	tab := make([]float64, 2*half*kernelSteps+2)
	for j := range tab {
		x := float64(j)/kernelSteps - float64(half)
		w := 0.42 + 0.5*math.Cos(math.Pi*x/float64(half)) + 0.08*math.Cos(2*math.Pi*x/float64(half))
		if math.Abs(x) >= float64(half) {
			w = 0
		}
		h := 2 * fc
		if x != 0 {
			h = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		tab[j] = h * w
	}
	return kernel{half: half, tab: tab}
}

// at evaluates the band-limited signal at input time t.
func (k kernel) at(src []int16, t float64) float64 {
	c := int(math.Floor(t))
	var sum, norm float64
	for i := max(c-k.half+1, 0); i <= min(c+k.half, len(src)-1); i++ {
		pos := (t - float64(i) + float64(k.half)) * kernelSteps
		j := int(pos)
		if j < 0 || j+1 >= len(k.tab) {
			continue
		}
		fr := pos - float64(j)
		h := k.tab[j] + fr*(k.tab[j+1]-k.tab[j])
		sum += float64(src[i]) * h
		norm += h
	}
	if norm == 0 {
		return 0
	}
	return sum / norm
}
