package app

import "testing"

// FuzzParse: any bytes give a config or an error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add(Default)
	f.Add([]byte("sip: {listeners: [{name: a, transport: udp, address: 1.2.3.4:5}]}\ntrunks: [{name: t}]"))
	f.Add([]byte("routes: [{from: a, to: b, capture: sometimes}]"))
	f.Add([]byte(":\n- [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz", data)
		if err == nil && c == nil {
			t.Fatal("no config and no error")
		}
	})
}
