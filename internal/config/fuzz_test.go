package config

import "testing"

// FuzzDecode: any bytes decode or give an error, and any path locates,
// never a panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(docYAML), "peers[1].addr")
	f.Add([]byte(":\n- [\n"), "a.b")
	f.Add([]byte("a: [1, {b: 2}]"), "a[1].b[")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		var d doc
		src, err := Decode("fuzz", data, &d)
		if err != nil {
			return
		}
		if src.At(path, errTest) == nil {
			t.Fatal("At returned nil")
		}
	})
}

var errTest = &FieldError{Msg: "test"}
