package dtmf

import (
	"math"
	"sync"
)

// interned hands out one shared value per configuration. Detectors and
// suppressors keep their configuration and what is derived from it (limits,
// the masking tone) behind a pointer to such a value: every call on a route
// has the same, so with hundreds of calls in a window the one copy stays in
// cache and each call's own state holds only what changes per call.
type interned[K comparable, V any] struct{ m sync.Map }

// get returns the value for k, building it on first use.
func (t *interned[K, V]) get(k K, build func(K) *V) *V {
	if k != k { // a NaN inside: no two keys are equal, so none is kept
		return build(k)
	}
	if v, ok := t.m.Load(k); ok {
		return v.(*V)
	}
	v, _ := t.m.LoadOrStore(k, build(k))
	return v.(*V)
}

// finite reports whether no v is NaN or infinite: comparisons with NaN are
// all false, so a NaN setting would pass every range check and then match
// nothing.
func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
