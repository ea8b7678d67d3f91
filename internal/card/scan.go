package card

// HoldsCardNumber reports whether b holds a run of 13 to 19 digits that
// passes Luhn, the shape of every card number. A run may be split by single
// spaces or dashes ("4111 1111 1111 1111"). It is the egress check's test:
// tonewall's tokens fail Luhn by construction, so nothing tonewall means to
// send matches, and whatever matches may be a card and is not sent.
func HoldsCardNumber(b []byte) bool {
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		end, digits := spacedRun(b, i)
		if digits >= 13 && digits <= 19 && luhnSpaced(b[i:end], digits) {
			return true
		}
		i = DigitEnd(b, i)
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isRunSeparator(c byte) bool { return c == ' ' || c == '-' }

// DigitEnd is the end of the plain run of digits in b starting at i.
func DigitEnd(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// spacedRun is the end of the run of digits starting at i, where single
// spaces or dashes between digits do not end it, and how many digits it has.
// It stops after 20 digits: no card number is that long.
func spacedRun(b []byte, i int) (end, digits int) {
	for i < len(b) && digits <= 19 {
		switch {
		case isDigit(b[i]):
			digits++
			i++
		case isRunSeparator(b[i]) && i+1 < len(b) && isDigit(b[i+1]) && i > 0 && isDigit(b[i-1]):
			i++
		default:
			return i, digits
		}
	}
	return i, digits
}

// luhnSpaced runs Luhn over the digits of run, skipping separators; the
// copy it makes is wiped.
func luhnSpaced(run []byte, digits int) bool {
	var d [19]byte
	n := 0
	for _, c := range run {
		if isDigit(c) && n < len(d) {
			d[n] = c
			n++
		}
	}
	ok := n == digits && Luhn(d[:n])
	clear(d[:])
	return ok
}
