package attrcrypt

import (
	"errors"
	"strconv"
)

// DynamoDB's number limits: 38 significant digits, magnitudes from 1E-130 to
// 9.9999999999999999999999999999999999999E+125 (and zero).
const (
	maxNumberDigits = 38
	minNumberExp    = -130 // smallest adjusted (scientific) exponent
	maxNumberExp    = 125  // largest adjusted (scientific) exponent
)

var errNumber = errors.New("invalid number")

// CanonicalNumber returns the canonical text of a DynamoDB number: the form
// attrcrypt signs and the form an encrypted number decrypts to. Every text
// that denotes the same value has the same canonical form ("1.50", "1.5",
// "+1.5", "15E-1" all give "1.5"; "-0.0" gives "0"). The canonical form is
// plain decimal notation: an optional "-", the digits without leading zeros
// (a single "0" before the point of a number below one), and a fractional
// part without trailing zeros; never an exponent. FORMAT.md gives the exact
// algorithm.
//
// It fails (wrapping ErrMalformed) for text DynamoDB would refuse as a
// number: anything but [+-]digits[.digits][(e|E)[+-]digits], more than 38
// significant digits, or a magnitude outside 1E-130 .. 9.99…E+125. The error
// never contains the text.
func CanonicalNumber(s string) (string, error) {
	b, err := appendCanonicalNumber(nil, s)
	if err != nil {
		return "", errMalformed("", "invalid number")
	}
	return string(b), nil
}

// appendCanonicalNumber appends the canonical text of s to dst. It does not
// allocate beyond growing dst.
func appendCanonicalNumber(dst []byte, s string) ([]byte, error) {
	if isPlainInteger(s) {
		return append(dst, s...), nil
	}
	return appendCanonicalNumberSlow(dst, s)
}

// appendCanonicalNumberSlow is appendCanonicalNumber without the fast path
// (tests compare the two).
func appendCanonicalNumberSlow(dst []byte, s string) ([]byte, error) {
	d, exp, neg, err := parseNumber(s)
	if err != nil {
		return dst, err
	}
	if d == "" { // zero
		return append(dst, '0'), nil
	}
	if neg {
		dst = append(dst, '-')
	}
	// d runs from the first to the last significant digit of s and may
	// contain the decimal point, which the append helpers skip.
	switch {
	case exp >= 0:
		dst = appendDigits(dst, d)
		for range exp {
			dst = append(dst, '0')
		}
	case countDigits(d) > -exp:
		intLen := countDigits(d) + exp
		dst = appendDigitsSplit(dst, d, intLen)
	default:
		dst = append(dst, '0', '.')
		for range -exp - countDigits(d) {
			dst = append(dst, '0')
		}
		dst = appendDigits(dst, d)
	}
	return dst, nil
}

// isPlainInteger reports whether s is an optional '-' followed by 1 to 38
// digits, the first not zero. Such text is already canonical (trailing
// zeros of an integer are written out; at most 38 digits keeps both the
// digit count and the exponent in range), so it is used as is. Most numbers
// are like this, and the general parse cost more than 100 ns each.
func isPlainInteger(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > maxNumberDigits || s[0] < '1' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseNumber parses DynamoDB number text. It returns the significant digits
// as a substring of s (from the first to the last non-zero digit; it may
// contain one '.'), the exponent exp such that value = digits × 10^exp, and
// the sign. Zero returns d == "".
func parseNumber(s string) (d string, exp int, neg bool, err error) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	mantStart := i
	intDigits, fracDigits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		intDigits++
	}
	point := -1
	if i < len(s) && s[i] == '.' {
		point = i
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			fracDigits++
		}
	}
	mantEnd := i
	if intDigits+fracDigits == 0 {
		return "", 0, false, errNumber
	}
	e := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return "", 0, false, errNumber
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return "", 0, false, errNumber
			}
			if e < 1_000_000_000 { // saturate: far beyond any valid range
				e = e*10 + int(c-'0')
			}
		}
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return "", 0, false, errNumber
	}
	// Significant digits: first and last non-zero digit in the mantissa.
	first, last := -1, -1
	for j := mantStart; j < mantEnd; j++ {
		if s[j] >= '1' && s[j] <= '9' {
			if first < 0 {
				first = j
			}
			last = j
		}
	}
	if first < 0 {
		return "", 0, false, nil // zero, any sign, any exponent
	}
	d = s[first : last+1]
	n := countDigits(d)
	// exponent of the last significant digit: position of last relative to
	// the units digit.
	var unitsPos int // index in s of the units digit
	if point >= 0 {
		unitsPos = point - 1
	} else {
		unitsPos = mantEnd - 1
	}
	var lastExp int
	if last <= unitsPos {
		lastExp = unitsPos - last
	} else {
		lastExp = -(last - point)
	}
	exp = lastExp + e
	adj := exp + n - 1
	if n > maxNumberDigits || adj < minNumberExp || adj > maxNumberExp {
		return "", 0, false, errNumber
	}
	return d, exp, neg, nil
}

func countDigits(d string) int {
	n := len(d)
	for i := 0; i < len(d); i++ {
		if d[i] == '.' {
			n--
		}
	}
	return n
}

func appendDigits(dst []byte, d string) []byte {
	for i := 0; i < len(d); i++ {
		if d[i] != '.' {
			dst = append(dst, d[i])
		}
	}
	return dst
}

// appendDigitsSplit appends the digits of d with a '.' after the first
// intLen digits (0 < intLen < countDigits(d)).
func appendDigitsSplit(dst []byte, d string, intLen int) []byte {
	k := 0
	for i := 0; i < len(d); i++ {
		if d[i] == '.' {
			continue
		}
		if k == intLen {
			dst = append(dst, '.')
		}
		dst = append(dst, d[i])
		k++
	}
	return dst
}

// numberSize is DynamoDB's approximate stored size of a number: one byte per
// two significant digits, plus one.
func numberSize(s string) int {
	d, _, _, err := parseNumber(s)
	if err != nil {
		return len(s)
	}
	return (countDigits(d)+1)/2 + 1
}

func quote(s string) string { return strconv.Quote(s) }
