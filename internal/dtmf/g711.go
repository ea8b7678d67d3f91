package dtmf

// G.711 companding, bit-exact with the ITU-T G.191 reference implementation
// of G.711 (µ-law reads the 14 most significant bits of a sample, A-law the
// 13; negative samples are truncated in one's complement as G.191 does).
// Everything is a table lookup, the tables built once and never changed.

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	linearToUlaw [1 << 14]uint8 // indexed by uint16(sample) >> 2
	linearToAlaw [1 << 12]uint8 // indexed by uint16(sample) >> 4
)

func init() {
	for i := range 256 {
		ulawToLinear[i] = ulawExpand(uint8(i))
		alawToLinear[i] = alawExpand(uint8(i))
	}
	for i := range linearToUlaw {
		linearToUlaw[i] = ulawCompress(int16(uint16(i << 2)))
	}
	for i := range linearToAlaw {
		linearToAlaw[i] = alawCompress(int16(uint16(i << 4)))
	}
}

// UlawToLinear decodes one µ-law byte.
func UlawToLinear(b uint8) int16 { return ulawToLinear[b] }

// AlawToLinear decodes one A-law byte.
func AlawToLinear(b uint8) int16 { return alawToLinear[b] }

// LinearToUlaw encodes one sample as µ-law.
func LinearToUlaw(s int16) uint8 { return linearToUlaw[uint16(s)>>2] }

// LinearToAlaw encodes one sample as A-law.
func LinearToAlaw(s int16) uint8 { return linearToAlaw[uint16(s)>>4] }

// DecodeUlaw decodes src into dst and returns dst[:len(src)]; dst must be at
// least as long as src. It allocates nothing.
func DecodeUlaw(dst []int16, src []byte) []int16 {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = ulawToLinear[b]
	}
	return dst
}

// DecodeAlaw decodes src into dst and returns dst[:len(src)].
func DecodeAlaw(dst []int16, src []byte) []int16 {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = alawToLinear[b]
	}
	return dst
}

// EncodeUlaw encodes src into dst and returns dst[:len(src)].
func EncodeUlaw(dst []byte, src []int16) []byte {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = linearToUlaw[uint16(s)>>2]
	}
	return dst
}

// EncodeAlaw encodes src into dst and returns dst[:len(src)].
func EncodeAlaw(dst []byte, src []int16) []byte {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = linearToAlaw[uint16(s)>>4]
	}
	return dst
}

// ulawCompress follows G.191 ulaw_compress for one sample.
func ulawCompress(x int16) uint8 {
	v := int32(x)
	if v < 0 {
		v = ^v
	}
	abs := v>>2 + 33
	if abs > 0x1FFF {
		abs = 0x1FFF
	}
	seg := int32(1)
	for i := abs >> 6; i != 0; i >>= 1 {
		seg++
	}
	hi := 8 - seg
	lo := 0xF - (abs>>seg)&0xF
	out := uint8(hi<<4 | lo)
	if x >= 0 {
		out |= 0x80
	}
	return out
}

// ulawExpand follows G.191 ulaw_expand for one byte.
func ulawExpand(b uint8) int16 {
	m := int32(^b)
	exp := (m >> 4) & 7
	step := int32(4) << (exp + 1)
	v := (int32(0x80) << exp) + step*(m&0xF) + step/2 - 4*33
	if b < 0x80 {
		v = -v
	}
	return int16(v)
}

// alawCompress follows G.191 alaw_compress for one sample.
func alawCompress(x int16) uint8 {
	v := int32(x)
	if v < 0 {
		v = ^v
	}
	ix := v >> 4
	if ix > 15 {
		exp := int32(1)
		for ix > 16+15 {
			ix >>= 1
			exp++
		}
		ix = ix - 16 + exp<<4
	}
	if x >= 0 {
		ix |= 0x80
	}
	return uint8(ix) ^ 0x55
}

// alawExpand follows G.191 alaw_expand for one byte.
func alawExpand(b uint8) int16 {
	ix := int32(b^0x55) & 0x7F
	exp := ix >> 4
	m := ix & 0xF
	if exp > 0 {
		m += 16
	}
	m = m<<4 + 8
	if exp > 1 {
		m <<= exp - 1
	}
	if b < 0x80 {
		m = -m
	}
	return int16(m)
}
