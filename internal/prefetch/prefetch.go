// Package prefetch asks the CPU for memory ahead of use. The relay handles
// each call's packets every 20 ms; with hundreds of calls, a call's state has
// left the cache by its next packet, and code that walks it stalls on one
// line after another. A List of the regions the next packet will touch,
// made at the end of one packet and run when the next arrives (before the
// relay decrypts it), lets those loads overlap with that work instead.
package prefetch

import "unsafe"

// Regions is how many regions a List holds.
const Regions = 16

// List is a list of memory regions. The zero value is empty. It holds
// addresses only: running it reads nothing from them.
type List struct {
	n    int
	regs [Regions]struct {
		p unsafe.Pointer
		n uintptr
	}
}

// Add puts n bytes at p on the list; a full list drops it.
func (l *List) Add(p unsafe.Pointer, n uintptr) {
	if l.n < Regions && n > 0 && p != nil {
		l.regs[l.n].p, l.regs[l.n].n = p, n
		l.n++
	}
}

// Len is how many regions the list holds.
func (l *List) Len() int { return l.n }

// Region returns the i-th region.
func (l *List) Region(i int) (unsafe.Pointer, uintptr) { return l.regs[i].p, l.regs[i].n }

// Reset empties the list.
func (l *List) Reset() { l.n = 0 }

// Run asks for every region on the list without waiting for any.
func (l *List) Run() {
	for i := range l.n {
		Range(l.regs[i].p, l.regs[i].n)
	}
}
