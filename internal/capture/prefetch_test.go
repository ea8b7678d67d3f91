package capture

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/prefetch"
)

// Outside a window the controller asks for its first cache line only,
// which holds every field such a packet reads; in a window, the fields an
// audio packet touches and the suppressor's state. Running the list changes nothing that
// is forwarded.
func TestControllerNextPrefetch(t *testing.T) {
	svc := newTestService(t)
	c, err := svc.Attach("call1", Point{Policy: "api"})
	require.NoError(t, err)
	defer svc.Detach("call1")
	// The allocator may put a header before the object (Go 1.22's, 8 bytes
	// for large objects with pointers), so "the first line" is the line the
	// controller starts in, by address.
	base := uintptr(unsafe.Pointer(c))
	for _, f := range []struct{ off, size uintptr }{
		{unsafe.Offsetof(c.presses), unsafe.Sizeof(c.presses)}, {unsafe.Offsetof(c.inject), unsafe.Sizeof(c.inject)},
		{unsafe.Offsetof(c.suppOpen), 1}, {unsafe.Offsetof(c.keyingOn), 1},
		{unsafe.Offsetof(c.eventSeen), 1}, {unsafe.Offsetof(c.eventTS), 4},
	} {
		require.Equal(t, base/64, (base+f.off+f.size-1)/64, "a field every packet reads is past the controller's first line")
	}

	var l prefetch.List
	var out [][]byte
	emit := media.EmitFunc(func(p *media.Packet) { out = append(out, append([]byte(nil), p.Payload...)) })
	frames := silenceFrames(20)
	step := func(i int) {
		l.Run()
		c.Process(mediaPacket(uint16(i), "PCMU", append([]byte(nil), frames[i]...)), emit)
		l.Reset()
		c.NextPrefetch(&l)
	}
	step(0)
	require.Equal(t, 1, l.Len())
	p, n := l.Region(0)
	require.Equal(t, base, uintptr(p))
	require.LessOrEqual(t, n, uintptr(64))

	_, err = svc.Start("call1", Request{})
	require.NoError(t, err)
	for i := 1; i < len(frames); i++ {
		step(i)
		require.Greater(t, l.Len(), 1, "packet %d: in a window, the suppressor's state too", i)
		p, n := l.Region(0)
		require.Equal(t, base, uintptr(p))
		require.Equal(t, unsafe.Offsetof(c.keys), n)
	}
	require.Len(t, out, len(frames))
}
