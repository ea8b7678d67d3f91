package dtmf

// Key is one of the 16 keypad keys, held as its ASCII character:
// '0'-'9', '*', '#', 'A'-'D'. The zero Key means "no key".
//
// A Key typed inside a capture window is card data: callers must not log it,
// put it in an error or send it toward the contact center.
type Key byte

// Keys lists the 16 keys in RFC 4733 event order (0-9, *, #, A-D).
var Keys = [16]Key{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'}

// Row and column frequencies of the DTMF keypad in Hz (ITU-T Q.23).
var (
	RowHz = [4]float64{697, 770, 852, 941}
	ColHz = [4]float64{1209, 1336, 1477, 1633}
)

// keypad[row][col] is the key at that row and column.
var keypad = [4][4]Key{
	{'1', '2', '3', 'A'},
	{'4', '5', '6', 'B'},
	{'7', '8', '9', 'C'},
	{'*', '0', '#', 'D'},
}

// Valid reports whether k is one of the 16 keys.
func (k Key) Valid() bool { return k.Event() >= 0 }

// Event is the RFC 4733 event code of k (0-15), or -1 when k is not a key.
func (k Key) Event() int {
	switch {
	case k >= '0' && k <= '9':
		return int(k - '0')
	case k == '*':
		return 10
	case k == '#':
		return 11
	case k >= 'A' && k <= 'D':
		return int(k-'A') + 12
	}
	return -1
}

// KeyFromEvent maps an RFC 4733 event code 0-15 to its Key; ok is false otherwise.
func KeyFromEvent(ev int) (k Key, ok bool) {
	if ev < 0 || ev > 15 {
		return 0, false
	}
	return Keys[ev], true
}

// ParseKey accepts a key character, with a-d in lower case too.
func ParseKey(c byte) (Key, bool) {
	if c >= 'a' && c <= 'd' {
		c -= 'a' - 'A'
	}
	k := Key(c)
	return k, k.Valid()
}

// Freqs returns the row and column frequencies of k in Hz.
func (k Key) Freqs() (row, col float64, ok bool) {
	r, c, ok := k.position()
	if !ok {
		return 0, 0, false
	}
	return RowHz[r], ColHz[c], true
}

// position is the keypad row and column of k.
func (k Key) position() (row, col int, ok bool) {
	for r := range keypad {
		for c := range keypad[r] {
			if keypad[r][c] == k {
				return r, c, true
			}
		}
	}
	return 0, 0, false
}

// String masks the key, so a Key (or a Digit or KeyEvent holding one) that
// reaches a log line or an error through %v or %s prints "[key]", never the
// digit. Code that must have the character asks for it with Char.
func (k Key) String() string { return "[key]" }

// GoString masks the key for %#v too.
func (k Key) GoString() string { return "dtmf.Key([key])" }

// Char returns the key character ('?' if k is not a key). Only deliberate
// uses belong here: the auditor's CLI, SIP INFO and RFC 4733 encoding.
func (k Key) Char() byte {
	if !k.Valid() {
		return '?'
	}
	return byte(k)
}
