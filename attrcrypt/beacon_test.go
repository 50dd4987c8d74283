package attrcrypt

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// refSearchMAC is an independent implementation of FORMAT.md section 16
// built from crypto/hmac alone: HKDF-SHA256 (RFC 5869) written out as
// extract (salt = 32 zero bytes) and one expand block, then HMAC-SHA256
// over the normalised bytes. It returns the derived key and the MAC.
func refSearchMAC(material []byte, purpose, table, attr string, normalized []byte) (derived, mac []byte) {
	info := []byte(purpose)
	info = binary.BigEndian.AppendUint32(info, uint32(len(table)))
	info = append(info, table...)
	info = binary.BigEndian.AppendUint32(info, uint32(len(attr)))
	info = append(info, attr...)
	ext := hmac.New(sha256.New, make([]byte, sha256.Size))
	ext.Write(material)
	prk := ext.Sum(nil)
	exp := hmac.New(sha256.New, prk)
	exp.Write(info)
	exp.Write([]byte{1})
	derived = exp.Sum(nil)
	m := hmac.New(sha256.New, derived)
	m.Write(normalized)
	return derived, m.Sum(nil)
}

// refBeacon truncates a MAC as section 16 says: the top bits bits as an
// integer, in ceil(bits/4) lower-case hex digits.
func refBeacon(mac []byte, bits int) string {
	x := binary.BigEndian.Uint64(mac[:8]) >> (64 - bits)
	return fmt.Sprintf("%0*x", (bits+3)/4, x)
}

func randomKey(t testing.TB) Key {
	t.Helper()
	k := Key{Ref: KeyRef{Tenant: "t", Class: "__beacon", Version: 1}}
	if _, err := rand.Read(k.Material[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestBeaconMatchesReference: Beacon and ClaimTag equal the section 16
// derivation computed with crypto/hmac only, for random keys, tables,
// attributes, values and every bit length.
func TestBeaconMatchesReference(t *testing.T) {
	for i := range 200 {
		key := randomKey(t)
		var rnd [24]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			t.Fatal(err)
		}
		table, attr := "tbl"+hex.EncodeToString(rnd[:i%7]), "a"+hex.EncodeToString(rnd[7:7+i%5])
		var v types.AttributeValue
		switch i % 3 {
		case 0:
			v = S(" Mixed Case " + hex.EncodeToString(rnd[12:]) + " ")
		case 1:
			v = N(strconv.Itoa(i*37-500) + ".50")
		default:
			v = B(rnd[:i%24])
		}
		norm := Normalization(i % 4)
		bits := MinBeaconBits + i%(MaxBeaconBits-MinBeaconBits+1)
		nv, err := NormalizedValue(v, norm)
		if err != nil {
			t.Fatal(err)
		}
		_, mac := refSearchMAC(key.Material[:], purposeBeacon, table, attr, nv)
		got, err := Beacon(key, table, attr, v, norm, bits)
		if err != nil {
			t.Fatal(err)
		}
		if want := refBeacon(mac, bits); got != want {
			t.Fatalf("case %d: Beacon = %s, reference %s (bits %d)", i, got, want, bits)
		}
		_, cmac := refSearchMAC(key.Material[:], purposeClaim, table, attr, nv)
		tag, err := ClaimTag(key, table, attr, v, norm)
		if err != nil {
			t.Fatal(err)
		}
		if want := hex.EncodeToString(cmac[:16]); tag != want {
			t.Fatalf("case %d: ClaimTag = %s, reference %s", i, tag, want)
		}
	}
}

// TestNormalizedValue covers the normalisation rules of section 16 one by
// one, including what Go's strings functions do and do not do.
func TestNormalizedValue(t *testing.T) {
	both := NormalizeTrim | NormalizeLower
	cases := []struct {
		name string
		v    types.AttributeValue
		norm Normalization
		want string
	}{
		{"string as is", S(" Ada@Example.COM "), 0, "S Ada@Example.COM "},
		{"trim only", S("\t Ada \n"), NormalizeTrim, "SAda"},
		{"lower only keeps spaces", S(" ADA "), NormalizeLower, "S ada "},
		{"trim then lower", S("  ADA@Example.com\r\n"), both, "Sada@example.com"},
		{"unicode white space trimmed", S("\u00a0\u3000\u2003x\u0085\u2028"), NormalizeTrim, "Sx"},
		{"zero width space is not white space", S("\u200bx\u200b"), NormalizeTrim, "S\u200bx\u200b"},
		{"inner space kept", S(" a  b "), both, "Sa  b"},
		{"unicode lower", S("ÉCOLE Ünï"), NormalizeLower, "Sécole ünï"},
		{"no final sigma rule", S("ΣΑΣ"), NormalizeLower, "Sσασ"},
		{"dotted capital I maps to plain i (simple mapping)", S("İ"), NormalizeLower, "Si"},
		{"no unicode normal form: decomposed stays decomposed", S("E\u0301"), NormalizeLower, "Se\u0301"},
		{"empty string", S(""), both, "S"},
		{"only spaces", S("   "), both, "S"},
		{"number canonical", N("0012.50"), 0, "N12.5"},
		{"number exponent", N("-1.5E3"), 0, "N-1500"},
		{"number negative zero", N("-0.0"), 0, "N0"},
		{"number ignores normalisation", N("1E2"), both, "N100"},
		{"binary raw", B([]byte{0, ' ', 'A', 0xff}), both, "B\x00 A\xff"},
		{"empty binary", B(nil), 0, "B"},
	}
	for _, c := range cases {
		got, err := NormalizedValue(c.v, c.norm)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	// The type byte keeps equal texts of different types apart.
	s, _ := NormalizedValue(S("1"), 0)
	n, _ := NormalizedValue(N("1"), 0)
	b, _ := NormalizedValue(B([]byte("1")), 0)
	if string(s) == string(n) || string(n) == string(b) || string(s) == string(b) {
		t.Fatal("S, N and B with the same text normalise alike")
	}
	// Equal numbers in any notation share a beacon.
	key := randomKey(t)
	var first string
	for _, txt := range []string{"1500", "1.5E3", "1500.000", "01500", "15e2", "+1500"} {
		bc, err := Beacon(key, "t", "n", N(txt), 0, 64)
		if err != nil {
			if txt == "+1500" {
				continue // DynamoDB refuses a leading plus; either answer is fine as long as it is not a different beacon
			}
			t.Fatalf("%s: %v", txt, err)
		}
		if first == "" {
			first = bc
		} else if bc != first {
			t.Fatalf("number %s has another beacon than 1500", txt)
		}
	}
}

// TestNormalizedValueRefusals: values a beacon cannot be computed from
// fail with ErrMalformed, and no message carries the value.
func TestNormalizedValueRefusals(t *testing.T) {
	const secret = "hunter2-secret"
	cases := []struct {
		name string
		v    types.AttributeValue
	}{
		{"nil interface", nil},
		{"typed nil S", (*types.AttributeValueMemberS)(nil)},
		{"typed nil N", (*types.AttributeValueMemberN)(nil)},
		{"typed nil B", (*types.AttributeValueMemberB)(nil)},
		{"invalid UTF-8", S(secret + "\xff")},
		{"invalid number", N(secret)},
		{"number out of range", N("1E200")},
		{"BOOL", &types.AttributeValueMemberBOOL{Value: true}},
		{"NULL", &types.AttributeValueMemberNULL{Value: true}},
		{"SS", SS(secret)},
		{"NS", NS("1")},
		{"L", &types.AttributeValueMemberL{Value: []types.AttributeValue{S(secret)}}},
		{"M", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": S(secret)}}},
	}
	key := randomKey(t)
	for _, c := range cases {
		for _, norm := range []Normalization{0, NormalizeTrim | NormalizeLower} {
			_, err := NormalizedValue(c.v, norm)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: NormalizedValue err = %v, want ErrMalformed", c.name, err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "hunter") {
				t.Fatalf("%s: error carries the value: %v", c.name, err)
			}
			if _, err := Beacon(key, "t", "a", c.v, norm, 16); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: Beacon err = %v, want ErrMalformed", c.name, err)
			}
			if _, err := ClaimTag(key, "t", "a", c.v, norm); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: ClaimTag err = %v, want ErrMalformed", c.name, err)
			}
		}
	}
	var zero Key
	if _, err := Beacon(zero, "t", "a", S("x"), 0, 16); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("zero key: Beacon err = %v, want ErrInvalidKey", err)
	}
	if _, err := ClaimTag(zero, "t", "a", S("x"), 0); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("zero key: ClaimTag err = %v, want ErrInvalidKey", err)
	}
}

// TestBeaconBits: every length from MinBeaconBits to MaxBeaconBits gives
// ceil(bits/4) lower-case hex digits holding a value below 2^bits, and the
// beacon of b bits is the top b bits of the 64-bit beacon; lengths outside
// the range are refused.
func TestBeaconBits(t *testing.T) {
	key := randomKey(t)
	for i := range 50 {
		v := S("value-" + strconv.Itoa(i))
		full, err := Beacon(key, "t", "a", v, 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		top, err := strconv.ParseUint(full, 16, 64)
		if err != nil || len(full) != 16 {
			t.Fatalf("64-bit beacon %q", full)
		}
		for bits := MinBeaconBits; bits <= MaxBeaconBits; bits++ {
			b, err := Beacon(key, "t", "a", v, 0, bits)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != (bits+3)/4 || strings.ToLower(b) != b {
				t.Fatalf("bits %d: beacon %q has %d digits", bits, b, len(b))
			}
			x, err := strconv.ParseUint(b, 16, 64)
			if err != nil {
				t.Fatalf("bits %d: %q is not hex", bits, b)
			}
			if bits < 64 && x>>bits != 0 {
				t.Fatalf("bits %d: value %#x too large", bits, x)
			}
			if x != top>>(64-bits) {
				t.Fatalf("bits %d: %#x is not the top bits of %#x", bits, x, top)
			}
		}
	}
	for _, bits := range []int{-1, 0, 1, 65, 128} {
		if _, err := Beacon(key, "t", "a", S("x"), 0, bits); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("bits %d: err = %v, want ErrInvalidConfig", bits, err)
		}
	}
}

// TestBeaconSeparation: another key, table, attribute or purpose gives an
// unrelated output, also where a naive concatenation would collide.
func TestBeaconSeparation(t *testing.T) {
	key, other := randomKey(t), randomKey(t)
	v := S("ada@example.com")
	b := func(k Key, table, attr string) string {
		t.Helper()
		s, err := Beacon(k, table, attr, v, 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	c := func(k Key, table, attr string) string {
		t.Helper()
		s, err := ClaimTag(k, table, attr, v, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	seen := map[string]string{}
	add := func(name, s string) {
		if prev, dup := seen[s[:16]]; dup {
			t.Fatalf("%s and %s share output %s", name, prev, s)
		}
		seen[s[:16]] = name
	}
	add("base", b(key, "customers", "email"))
	add("other key", b(other, "customers", "email"))
	add("other table", b(key, "orders", "email"))
	add("other attribute", b(key, "customers", "email2"))
	add("split moved", b(key, "customersemail", ""))
	add("split moved 2", b(key, "customer", "semail"))
	add("table and attr swapped", b(key, "email", "customers"))
	add("claim tag", c(key, "customers", "email"))
	add("claim tag other table", c(key, "orders", "email"))
	add("claim tag other key", c(other, "customers", "email"))
	// Deterministic: the same inputs give the same outputs.
	again := key
	if b(again, "customers", "email") != b(key, "customers", "email") || c(again, "customers", "email") != c(key, "customers", "email") {
		t.Fatal("beacon or claim tag not deterministic")
	}
	// The key's reference plays no part: only its material does.
	moved := key
	moved.Ref = KeyRef{Tenant: "elsewhere", Class: "x", Version: 9}
	if b(moved, "customers", "email") != b(key, "customers", "email") {
		t.Fatal("beacon depends on the key reference")
	}
}

func BenchmarkBeacon(b *testing.B) {
	key := randomKey(b)
	v := S("Ada.Lovelace@AnalyticalEngine.uk")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Beacon(key, "customers", "email", v, NormalizeTrim|NormalizeLower, 16); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSearcherMatchesFunctions: a Searcher gives what Beacon and ClaimTag
// give, also when used from many goroutines at once (run with -race).
func TestSearcherMatchesFunctions(t *testing.T) {
	key := randomKey(t)
	s, err := NewSearcher(key, "customers", "email")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 100 {
				v := S(fmt.Sprintf(" User%d@Example.com ", (g*100+i)%37))
				norm := NormalizeTrim | NormalizeLower
				got, err := s.Beacon(v, norm, 16+g)
				if err != nil {
					done <- err
					return
				}
				want, _ := Beacon(key, "customers", "email", v, norm, 16+g)
				gotTag, _ := s.ClaimTag(v, norm)
				wantTag, _ := ClaimTag(key, "customers", "email", v, norm)
				if got != want || gotTag != wantTag {
					done <- fmt.Errorf("goroutine %d value %d: searcher %s/%s, functions %s/%s", g, i, got, gotTag, want, wantTag)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewSearcher(Key{}, "customers", "email"); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("zero key: err = %v, want ErrInvalidKey", err)
	}
	if _, err := s.Beacon(S("x"), 0, 65); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("65 bits: err = %v, want ErrInvalidConfig", err)
	}
	// Zero leaves no derived key material behind.
	states := [][]byte{s.beacon.inner, s.beacon.outer, s.claim.inner, s.claim.outer}
	s.Zero()
	for i, st := range states {
		if len(st) == 0 {
			t.Fatalf("state %d empty before Zero", i)
		}
		for _, b := range st {
			if b != 0 {
				t.Fatalf("state %d not zeroed", i)
			}
		}
	}
}

// BenchmarkSearcherBeacon is the per-item beacon cost once the engine
// holds a Searcher for the tenant, table and attribute.
func BenchmarkSearcherBeacon(b *testing.B) {
	s, err := NewSearcher(randomKey(b), "customers", "email")
	if err != nil {
		b.Fatal(err)
	}
	v := S("Ada.Lovelace@AnalyticalEngine.uk")
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if _, err := s.Beacon(v, NormalizeTrim|NormalizeLower, 16); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time per beacon: wall time on a loaded machine measures the
	// scheduler (compare with BenchmarkSealReference's cpu-ns/KB).
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// TestNormalizationIdempotent: normalising a normalised string changes
// nothing, for random strings mixing ASCII, Unicode letters of every case
// and Unicode white space; so a value and its normalised form always share
// their beacon, and a find compares like with like.
func TestNormalizationIdempotent(t *testing.T) {
	alphabet := []rune("aZ09 \t\n\u00a0\u2003\u3000\u0085ÉéİıΣσςẞßǅǆǄ\u0301\u200bКк𝔸Ω")
	key := randomKey(t)
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		t.Fatal(err)
	}
	r := binary.BigEndian.Uint64(seed[:])
	next := func(n uint64) uint64 { r ^= r << 13; r ^= r >> 7; r ^= r << 17; return r % n }
	for range 2000 {
		var b strings.Builder
		for range next(12) {
			b.WriteRune(alphabet[next(uint64(len(alphabet)))])
		}
		for _, norm := range []Normalization{NormalizeTrim, NormalizeLower, NormalizeTrim | NormalizeLower} {
			once, err := NormalizedValue(S(b.String()), norm)
			if err != nil {
				t.Fatal(err)
			}
			twice, err := NormalizedValue(S(string(once[1:])), norm)
			if err != nil {
				t.Fatal(err)
			}
			if string(once) != string(twice) {
				t.Fatalf("norm %d of %q: %q then %q", norm, b.String(), once, twice)
			}
			b1, _ := Beacon(key, "t", "a", S(b.String()), norm, 64)
			b2, _ := Beacon(key, "t", "a", S(string(once[1:])), norm, 64)
			if b1 != b2 {
				t.Fatalf("norm %d: %q and its normal form have different beacons", norm, b.String())
			}
		}
	}
}
