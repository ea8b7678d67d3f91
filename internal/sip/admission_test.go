package sip

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value reads a counter or a gauge, like testutil.ToFloat64 (which this
// module cannot import without a go.mod change: it needs kylelemons/godebug).
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func newTestAdmission(max int) (*admission, *prometheus.CounterVec) {
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "refused"}, []string{"trunk", "reason"})
	return newAdmission(max, refused), refused
}

func testTrunk(name string, maxCalls int, perSec float64) *trunk {
	return &trunk{cfg: Trunk{Name: name, MaxCalls: maxCalls, CallsPerSec: perSec}}
}

// mustTake admits a call or fails the test.
func mustTake(t *testing.T, a *admission, from, to *trunk, now time.Time) func() {
	t.Helper()
	release, refused := a.take(from, to, now)
	if refused != "" {
		t.Fatalf("call %s→%s refused: %s", from.cfg.Name, to.cfg.Name, refused)
	}
	return release
}

func wantRefused(t *testing.T, a *admission, from, to *trunk, now time.Time, reason string) {
	t.Helper()
	if _, got := a.take(from, to, now); got != reason {
		t.Fatalf("call %s→%s: refused %q, want %q", from.cfg.Name, to.cfg.Name, got, reason)
	}
}

func TestAdmissionGlobalCap(t *testing.T) {
	a, refused := newTestAdmission(2)
	carrier, cc := testTrunk("carrier", 0, 0), testTrunk("cc", 0, 0)
	release := mustTake(t, a, carrier, cc, t0)
	mustTake(t, a, cc, carrier, t0)
	wantRefused(t, a, carrier, cc, t0, "calls_limit")
	wantRefused(t, a, cc, carrier, t0, "calls_limit")
	release()
	mustTake(t, a, carrier, cc, t0)
	for _, c := range []struct {
		trunk, reason string
		want          float64
	}{{"carrier", "calls_limit", 1}, {"cc", "calls_limit", 1}, {"carrier", "trunk_calls_limit", 0}} {
		if got := value(t, refused.WithLabelValues(c.trunk, c.reason)); got != c.want {
			t.Errorf("refused{trunk=%s,reason=%s} = %v, want %v", c.trunk, c.reason, got, c.want)
		}
	}
}

// TestAdmissionTrunkCapCountsBothTrunks: a call holds a place on the trunk
// it came from and on the one it goes to.
func TestAdmissionTrunkCapCountsBothTrunks(t *testing.T) {
	a, refused := newTestAdmission(100)
	small, carrier, other := testTrunk("small", 1, 0), testTrunk("carrier", 0, 0), testTrunk("other", 0, 0)
	release := mustTake(t, a, carrier, small, t0) // counts on small as the destination
	wantRefused(t, a, small, carrier, t0, "trunk_calls_limit")
	wantRefused(t, a, other, small, t0, "trunk_calls_limit")
	mustTake(t, a, carrier, other, t0) // other trunks keep their room
	if got := value(t, refused.WithLabelValues("small", "trunk_calls_limit")); got != 1 {
		t.Errorf("refused from small = %v, want 1", got)
	}
	if got := value(t, refused.WithLabelValues("other", "trunk_calls_limit")); got != 1 {
		t.Errorf("refused from other (labelled by the trunk it came from) = %v, want 1", got)
	}
	release()
	mustTake(t, a, small, carrier, t0)
}

// TestAdmissionTrunkToItself: a call from a trunk to itself is one call on
// it, not two.
func TestAdmissionTrunkToItself(t *testing.T) {
	a, _ := newTestAdmission(100)
	pbx := testTrunk("pbx", 2, 0)
	first := mustTake(t, a, pbx, pbx, t0)
	mustTake(t, a, pbx, pbx, t0)
	wantRefused(t, a, pbx, pbx, t0, "trunk_calls_limit")
	first()
	mustTake(t, a, pbx, pbx, t0)
}

func TestAdmissionCallsPerSecond(t *testing.T) {
	tests := []struct {
		name   string
		perSec float64
		at     []time.Duration // new calls from the trunk
		want   []bool
	}{
		{"burst of one second's worth", 2, []time.Duration{0, 0, 0}, []bool{true, true, false}},
		{"refills at the rate", 2, []time.Duration{0, 0, 250 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond},
			[]bool{true, true, false, true, false}},
		{"below one a second still lets one through", 0.5, []time.Duration{0, 0, time.Second, 2 * time.Second},
			[]bool{true, false, false, true}},
		{"zero is no cap", 0, []time.Duration{0, 0, 0, 0}, []bool{true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newTestAdmission(100)
			from, to := testTrunk("carrier", 0, tt.perSec), testTrunk("cc", 0, 0)
			for i, at := range tt.at {
				_, refused := a.take(from, to, after(at))
				if got := refused == ""; got != tt.want[i] {
					t.Fatalf("call %d at +%v: admitted %v (%q), want %v", i, at, got, refused, tt.want[i])
				}
				if refused != "" && refused != "trunk_rate_limit" {
					t.Fatalf("call %d refused for %q", i, refused)
				}
			}
		})
	}
}

// TestAdmissionRateIsTheCallersOnly: calls_per_second caps calls a trunk
// starts, not calls sent to it.
func TestAdmissionRateIsTheCallersOnly(t *testing.T) {
	a, _ := newTestAdmission(100)
	slow, carrier := testTrunk("slow", 0, 1), testTrunk("carrier", 0, 0)
	for i := 0; i < 3; i++ {
		mustTake(t, a, carrier, slow, t0)
	}
	mustTake(t, a, slow, carrier, t0)
	wantRefused(t, a, slow, carrier, t0, "trunk_rate_limit")
}

// TestAdmissionRefusalTakesNoToken: a call refused for a count cap does not
// spend the trunk's rate.
func TestAdmissionRefusalTakesNoToken(t *testing.T) {
	a, _ := newTestAdmission(1)
	from, to := testTrunk("carrier", 0, 1), testTrunk("cc", 0, 0)
	other := testTrunk("other", 0, 0)
	release := mustTake(t, a, other, to, t0)
	wantRefused(t, a, from, to, t0, "calls_limit")
	release()
	mustTake(t, a, from, to, t0)
}

func TestAdmissionReleaseIsIdempotent(t *testing.T) {
	a, _ := newTestAdmission(1)
	carrier, cc := testTrunk("carrier", 1, 0), testTrunk("cc", 1, 0)
	release := mustTake(t, a, carrier, cc, t0)
	release()
	release()
	mustTake(t, a, carrier, cc, t0)
	wantRefused(t, a, carrier, cc, t0, "calls_limit")
	if a.calls != 1 || a.load["carrier"].calls != 1 || a.load["cc"].calls != 1 {
		t.Errorf("counts after double release: all %d, carrier %d, cc %d; want 1 each",
			a.calls, a.load["carrier"].calls, a.load["cc"].calls)
	}
	noop, _ := a.take(carrier, cc, t0)
	noop() // a refused call's release gives nothing back
	if a.calls != 1 {
		t.Errorf("a refused call's release changed the count to %d", a.calls)
	}
}

// TestAdmissionAcrossReload: a reload makes new trunks of the same names;
// the calls admitted on the old ones count against the new caps, and give
// their places back to them when they end.
func TestAdmissionAcrossReload(t *testing.T) {
	a, _ := newTestAdmission(10)
	oldFrom, oldTo := testTrunk("carrier", 3, 0), testTrunk("cc", 0, 0)
	r1 := mustTake(t, a, oldFrom, oldTo, t0)
	r2 := mustTake(t, a, oldFrom, oldTo, t0)
	newFrom, newTo, gone := testTrunk("carrier", 2, 0), testTrunk("cc", 0, 0), testTrunk("old", 0, 0)
	mustTake(t, a, gone, newTo, t0)()
	a.reconfigure(2, []*trunk{newFrom, newTo})
	if _, ok := a.load["old"]; ok {
		t.Error("the idle load of a removed trunk was kept")
	}
	wantRefused(t, a, newFrom, newTo, t0, "calls_limit") // two calls of before, max_calls now 2
	a.reconfigure(10, []*trunk{newFrom, newTo})
	wantRefused(t, a, newFrom, newTo, t0, "trunk_calls_limit") // the trunk's new cap, 2, counts them too
	r1()
	mustTake(t, a, newFrom, newTo, t0)
	r2()
	if a.calls != 1 || a.load["carrier"].calls != 1 {
		t.Errorf("after the old calls ended: all %d, carrier %d; want 1", a.calls, a.load["carrier"].calls)
	}
}
