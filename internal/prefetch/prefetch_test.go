package prefetch

import (
	"testing"
	"unsafe"
)

func TestList(t *testing.T) {
	var l List
	buf := make([]byte, 4096)
	l.Add(unsafe.Pointer(&buf[0]), 0) // empty: dropped
	l.Add(nil, 64)                    // nil: dropped
	for i := range Regions + 3 {      // more than it holds: the rest dropped
		l.Add(unsafe.Pointer(&buf[i*100]), 100)
	}
	if l.Len() != Regions {
		t.Fatalf("Len %d, want %d", l.Len(), Regions)
	}
	if p, n := l.Region(1); p != unsafe.Pointer(&buf[100]) || n != 100 {
		t.Fatalf("Region(1) = %p, %d", p, n)
	}
	l.Run() // touches nothing observable and must not fault
	Range(unsafe.Pointer(&buf[4095]), 1)
	l.Reset()
	if l.Len() != 0 {
		t.Fatal("Reset left regions")
	}
}
