package dtmf

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// dirichletU against the sum it stands for, over the offsets the leakage
// model uses (own-bin offsets within the tolerance, cross-bin offsets up to
// the widest row-column pair).
func TestDirichletMatchesSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = windowLen / 2
	ds := []float64{0, 1e-14, -1e-9, 1e-6, 0.05, -0.3}
	for range 2000 {
		ds = append(ds, (rng.Float64()*2-1)*1.2)
	}
	for _, d := range ds {
		var want complex128
		for m := range n {
			s, c := math.Sincos(d * float64(m))
			want += complex(c, s)
		}
		got := dirichletU(expHalf(d), n)
		if cmplx.Abs(got-want) > 1e-11*max(cmplx.Abs(want), 1) {
			t.Fatalf("d=%g: dirichletU %v, sum %v", d, got, want)
		}
	}
}
