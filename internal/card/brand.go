package card

// Brand is a card scheme, named as the control API reports it.
type Brand string

const (
	Unknown    Brand = ""
	Visa       Brand = "visa"
	Mastercard Brand = "mastercard"
	Amex       Brand = "amex"
	Discover   Brand = "discover"
	JCB        Brand = "jcb"
	Diners     Brand = "diners"
	UnionPay   Brand = "unionpay"
	Maestro    Brand = "maestro"
)

// Brands lists every brand tonewall knows, for config validation.
var Brands = []Brand{Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro}

// iinRange maps a range of leading digits to a brand. lo and hi have the
// same number of digits; a PAN matches when its first len(lo) digits are
// within [lo, hi].
type iinRange struct {
	lo, hi   string
	brand    Brand
	min, max int // PAN lengths
}

// iinRanges is ordered most specific first: the first match wins, so
// co-branded Discover ranges inside UnionPay's 62 resolve to Discover.
var iinRanges = []iinRange{
	{"34", "34", Amex, 15, 15},
	{"37", "37", Amex, 15, 15},
	{"300", "305", Diners, 14, 19},
	{"3095", "3095", Diners, 14, 19},
	{"36", "36", Diners, 14, 19},
	{"38", "39", Diners, 14, 19},
	{"3528", "3589", JCB, 16, 19},
	{"2221", "2720", Mastercard, 16, 16},
	{"51", "55", Mastercard, 16, 16},
	{"6011", "6011", Discover, 16, 19},
	{"622126", "622925", Discover, 16, 19},
	{"644", "649", Discover, 16, 19},
	{"65", "65", Discover, 16, 19},
	{"62", "62", UnionPay, 16, 19},
	{"81", "81", UnionPay, 16, 19},
	{"5018", "5018", Maestro, 13, 19},
	{"5020", "5020", Maestro, 13, 19},
	{"5038", "5038", Maestro, 13, 19},
	{"5893", "5893", Maestro, 13, 19},
	{"6304", "6304", Maestro, 13, 19},
	{"6759", "6759", Maestro, 13, 19},
	{"6761", "6763", Maestro, 13, 19},
	{"4", "4", Visa, 13, 19},
}

// lookup finds the IIN range of the leading digits d, or nil.
func lookup(d []byte) *iinRange {
	for i := range iinRanges {
		r := &iinRanges[i]
		n := len(r.lo)
		if len(d) < n {
			continue
		}
		if between(d[:n], r.lo, r.hi) {
			return r
		}
	}
	return nil
}

// between compares digits with bounds of the same length byte by byte, so
// no string copy of card digits is ever made.
func between(d []byte, lo, hi string) bool {
	return cmpDigits(d, lo) >= 0 && cmpDigits(d, hi) <= 0
}

func cmpDigits(d []byte, s string) int {
	for i := range d {
		if d[i] != s[i] {
			if d[i] < s[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// MaxLength is the longest PAN the brand issues (0 for Unknown).
func (b Brand) MaxLength() int {
	max := 0
	for _, r := range iinRanges {
		if r.brand == b && r.max > max {
			max = r.max
		}
	}
	return max
}

// CVVLength is the security code length for a brand: 4 for Amex, else 3.
func (b Brand) CVVLength() int {
	if b == Amex {
		return 4
	}
	return 3
}

// LengthOK reports whether n digits is a valid PAN length for the brand.
func (b Brand) LengthOK(n int) bool {
	for _, r := range iinRanges {
		if r.brand == b && n >= r.min && n <= r.max {
			return true
		}
	}
	return false
}
