package dtmf

import (
	"math"
	"math/cmplx"
)

// The detector measures every window that might hold a key (four per
// packet while a key is down) with a 2×2 leakage model of two tones. These
// build it with two sincos instead of twelve trigonometric calls, to
// float64 precision.

// dirichletU is Σ e^{jdm} for m in [0, n), given u = e^{jd/2}, |d| < 2π:
// e^{jd(n-1)/2}·sin(dn/2)/sin(d/2), with e^{jdn/2} = uⁿ by squaring.
func dirichletU(u complex128, n int) complex128 {
	s := imag(u)
	if math.Abs(s) < 5e-13 {
		return complex(float64(n), 0)
	}
	p, b := complex(1, 0), u
	for k := n; k > 0; k >>= 1 {
		if k&1 != 0 {
			p *= b
		}
		b *= b
	}
	return p * cmplx.Conj(u) * complex(imag(p)/s, 0)
}

// halfRot is e^{jω/2} for each DTMF frequency: products of these give
// e^{j(ω_c−ω_r)/2} for the cross terms of the leakage model.
var halfRot = func() (h [numBins]complex128) {
	for k, f := range binHz {
		s, c := math.Sincos(math.Pi * f / SampleRate)
		h[k] = complex(c, s)
	}
	return h
}()

// expHalf is e^{jd/2}.
func expHalf(d float64) complex128 {
	s, c := math.Sincos(d / 2)
	return complex(c, s)
}
