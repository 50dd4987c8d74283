package attrcrypt

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestCanonicalNumber(t *testing.T) {
	cases := map[string]string{
		"0": "0", "-0": "0", "-0.0": "0", "+0": "0", "0.000": "0", "0E10": "0", "00": "0", ".0": "0", "0.": "0",
		"1": "1", "+1": "1", "1.0": "1", "1.": "1", "01": "1", "0012": "12", "12.000": "12",
		"1.50": "1.5", "1.5": "1.5", "15E-1": "1.5", "0.15e1": "1.5", "150e-2": "1.5",
		"1E3": "1000", "1e+3": "1000", "1000": "1000", "1000.0": "1000", "0.001E6": "1000", "10E2": "1000",
		"-12.340": "-12.34", "-.5": "-0.5", ".5": "0.5", "0.5": "0.5", "5E-1": "0.5",
		"0.0001": "0.0001", "1E-4": "0.0001", "100.001": "100.001", "1.0203": "1.0203",
		"1E-130": "0." + zeros(129) + "1", "1E125": "1" + zeros(125),
		"12345678901234567890123456789012345678":       "12345678901234567890123456789012345678",
		"1234567890123456789012345678901234567800000":  "1234567890123456789012345678901234567800000",
		"9.9999999999999999999999999999999999999E+125": "99999999999999999999999999999999999999" + zeros(88),
		"1E0000000000000000000003":                     "1000",
	}
	for in, want := range cases {
		got, err := CanonicalNumber(in)
		if err != nil || got != want {
			t.Errorf("CanonicalNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
		if got2, err := CanonicalNumber(got); err != nil || got2 != got {
			t.Errorf("canonical form %q is not a fixed point: %q, %v", got, got2, err)
		}
	}
	bad := []string{"", "+", "-", ".", "e1", "1e", "1e+", "1.2.3", " 1", "1 ", "0x10", "NaN", "Inf", "1,5", "--1", "1e1.5",
		"1E126", "1E-131", "10E125", "0.1E-130", "123456789012345678901234567890123456789", "1e999999999999999999999"}
	for _, in := range bad {
		if got, err := CanonicalNumber(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("CanonicalNumber(%q) = %q, %v; want ErrMalformed", in, got, err)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// An item sealed with numbers, sets and maps written one way opens after
// DynamoDB rewrites them (numbers to canonical text, sets and map keys
// reordered): the signature is computed over the canonical forms.
func TestSignatureSurvivesDynamoDBRewriting(t *testing.T) {
	s, err := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: map[string]Action{"secret": ActionEncrypt}})
	if err != nil {
		t.Fatal(err)
	}
	key := testKey("t1", "", 1)
	written := map[string]types.AttributeValue{
		"tenant": S("t1"),
		"a":      N("1.50"),
		"b":      N("0012"),
		"c":      N("1E3"),
		"d":      N("-0.0"),
		"ns":     NS("1.50", "0012", "1E3", "-0.0"),
		"ss":     SS("zeta", "alpha", "mu"),
		"bs":     &types.AttributeValueMemberBS{Value: [][]byte{{9}, {1}, {5}}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"z": N("2.50"), "a": NS("10", "9"), "m": &types.AttributeValueMemberL{Value: []types.AttributeValue{N("007")}},
		}},
		"secret": N("0100.10"),
	}
	sealed, err := s.Seal(written, key)
	if err != nil {
		t.Fatal(err)
	}
	// What DynamoDB hands back.
	read := cloneItem(sealed)
	read["a"], read["b"], read["c"], read["d"] = N("1.5"), N("12"), N("1000"), N("0")
	read["ns"] = NS("0", "1000", "12", "1.5")
	read["ss"] = SS("mu", "zeta", "alpha")
	read["bs"] = &types.AttributeValueMemberBS{Value: [][]byte{{5}, {9}, {1}}}
	read["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"m": &types.AttributeValueMemberL{Value: []types.AttributeValue{N("7")}}, "a": NS("9", "10"), "z": N("2.5"),
	}}
	got, _, err := s.Open(read, key)
	if err != nil {
		t.Fatalf("Open after rewriting: %v", err)
	}
	if v := got["secret"].(*types.AttributeValueMemberN).Value; v != "100.1" {
		t.Errorf("encrypted number decrypted to %q, want canonical 100.1", v)
	}
	if got["a"].(*types.AttributeValueMemberN).Value != "1.5" {
		t.Error("signed values must come back as stored")
	}
	// A different value is still caught: order of a list matters.
	read["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"m": &types.AttributeValueMemberL{Value: []types.AttributeValue{N("7")}}, "a": NS("9", "10"), "z": N("2.51"),
	}}
	_, _, err = s.Open(read, key)
	wantTamper(t, err, ReasonSignature)
}

func TestListOrderIsSigned(t *testing.T) {
	s, _ := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant"})
	key := testKey("t1", "", 1)
	sealed, err := s.Seal(map[string]types.AttributeValue{"tenant": S("t1"), "l": &types.AttributeValueMemberL{Value: []types.AttributeValue{S("a"), S("b")}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	sealed["l"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{S("b"), S("a")}}
	_, _, err = s.Open(sealed, key)
	wantTamper(t, err, ReasonSignature)
}

// Distinct values must have distinct encodings (no ambiguity from
// concatenation).
func TestCanonicalEncodingUnambiguous(t *testing.T) {
	vals := []types.AttributeValue{
		S(""), S("a"), S("ab"), B(nil), B([]byte("a")), N("1"), N("10"), N("0.1"),
		&types.AttributeValueMemberBOOL{}, &types.AttributeValueMemberBOOL{Value: true}, &types.AttributeValueMemberNULL{Value: true},
		SS(), SS("a"), SS("a", "b"), SS("ab"), NS("1"), NS("1", "10"), &types.AttributeValueMemberBS{Value: [][]byte{[]byte("a")}},
		&types.AttributeValueMemberL{}, &types.AttributeValueMemberL{Value: []types.AttributeValue{S("a")}},
		&types.AttributeValueMemberL{Value: []types.AttributeValue{S("a"), S("b")}},
		&types.AttributeValueMemberL{Value: []types.AttributeValue{S("ab")}},
		&types.AttributeValueMemberM{}, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": S("b")}},
		&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"ab": S("")}},
		&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": S(""), "b": S("")}},
	}
	seen := map[string]int{}
	var e encoder
	for i, v := range vals {
		b, err := e.appendValue(nil, v, 0)
		if err != nil {
			t.Fatal(err)
		}
		if j, dup := seen[string(b)]; dup {
			t.Errorf("values %d and %d encode identically", j, i)
		}
		seen[string(b)] = i
	}
}

func TestDecodePayloadRejectsNonCanonical(t *testing.T) {
	cases := map[string]struct {
		code byte
		p    []byte
	}{
		"unsorted SS":     {codeSS, []byte{0, 0, 0, 2, 0, 0, 0, 1, 'b', 0, 0, 0, 1, 'a'}},
		"duplicate SS":    {codeSS, []byte{0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'a'}},
		"non-canonical N": {codeNS, []byte{0, 0, 0, 1, 0, 0, 0, 3, '1', '.', '0'}},
		"BOOL 2":          {codeBOOL, []byte{2}},
		"trailing":        {codeBOOL, []byte{1, 0}},
		"huge count":      {codeL, []byte{0xff, 0xff, 0xff, 0xff}},
		"unsorted M":      {codeM, []byte{0, 0, 0, 2, 0, 0, 0, 1, 'b', codeNULL, 0, 0, 0, 1, 'a', codeNULL}},
		"unknown code":    {0x0B, nil},
		"short":           {codeL, []byte{0, 0}},
	}
	for name, c := range cases {
		if _, err := decodePayload(c.code, c.p); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestItemSize(t *testing.T) {
	item := map[string]types.AttributeValue{
		"s":    S("abc"),                                                                           // 1 + 3
		"n":    N("12345"),                                                                         // 1 + (5+1)/2+1 = 4
		"n0":   N("-0.00100"),                                                                      // 2 + (1+1)/2+1 = 2
		"b":    B([]byte{1, 2}),                                                                    // 1 + 2
		"bool": &types.AttributeValueMemberBOOL{Value: true},                                       // 4 + 1
		"null": &types.AttributeValueMemberNULL{Value: true},                                       // 4 + 1
		"ss":   SS("a", "bc"),                                                                      // 2 + 3
		"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{S("x"), N("1")}},        // 1 + 3 + (1+1) + (1+2)
		"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": S("vv")}}, // 1 + 3 + 1 + 1 + 2
	}
	want := 4 + 5 + 4 + 3 + 5 + 5 + 5 + 9 + 8
	if got := ItemSize(item); got != want {
		t.Fatalf("ItemSize = %d, want %d", got, want)
	}
}

// The plain-integer fast path must agree with the general algorithm,
// including at the 38-digit limit and on near misses.
func TestCanonicalNumberFastPath(t *testing.T) {
	cases := []string{"0", "-0", "00", "01", "-01", "1", "-1", "10", "1000", "-1000", "+1", "1.", "1.0", "1e0", "", "-", "--1",
		strings.Repeat("9", 38), "-" + strings.Repeat("9", 38), strings.Repeat("9", 39), "1" + strings.Repeat("0", 37),
		"1" + strings.Repeat("0", 38), "1" + strings.Repeat("0", 125), "1" + strings.Repeat("0", 126), "12a", "1 ", " 1", "١"}
	rnd := uint64(7)
	for range 2000 {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		n := 1 + int(rnd>>58)%42
		b := make([]byte, 0, n+1)
		if rnd&1 == 1 {
			b = append(b, '-')
		}
		for i := range n {
			b = append(b, "0123456789"[(rnd>>(i%50))%10])
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		fast, ferr := appendCanonicalNumber(nil, c)
		slow, serr := appendCanonicalNumberSlow(nil, c)
		if (ferr == nil) != (serr == nil) || string(fast) != string(slow) {
			t.Fatalf("%q: fast path %q (%v), general %q (%v)", c, fast, ferr, slow, serr)
		}
	}
}

// Sets that arrive sorted skip the sorting copy; duplicates must still be
// refused and unsorted sets still sorted.
func TestSetEncodingSortedInput(t *testing.T) {
	var e encoder
	for _, tc := range []struct {
		av      types.AttributeValue
		wantErr bool
	}{
		{SS("a", "a"), true},
		{SS("a", "b", "b"), true},
		{SS("b", "a", "b"), true},
		{&types.AttributeValueMemberBS{Value: [][]byte{{1}, {1}}}, true},
		{&types.AttributeValueMemberBS{Value: [][]byte{{}, {0}, {0}}}, true},
	} {
		if _, err := e.appendValue(nil, tc.av, 0); (err != nil) != tc.wantErr {
			t.Errorf("%#v: error %v, want error %v", tc.av, err, tc.wantErr)
		}
	}
	sorted, err := e.appendValue(nil, SS("a", "b", "c"), 0)
	if err != nil {
		t.Fatal(err)
	}
	unsorted, err := e.appendValue(nil, SS("c", "a", "b"), 0)
	if err != nil || !bytes.Equal(sorted, unsorted) {
		t.Fatalf("sorted and unsorted SS encode differently: %x vs %x (%v)", sorted, unsorted, err)
	}
	sortedB, err := e.appendValue(nil, &types.AttributeValueMemberBS{Value: [][]byte{{}, {1}, {1, 0}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	unsortedB, err := e.appendValue(nil, &types.AttributeValueMemberBS{Value: [][]byte{{1, 0}, {}, {1}}}, 0)
	if err != nil || !bytes.Equal(sortedB, unsortedB) {
		t.Fatalf("sorted and unsorted BS encode differently: %x vs %x (%v)", sortedB, unsortedB, err)
	}
}

// TestLargeMapsAndSetsSortCanonically: maps and number sets above
// ordThreshold sort through 8-byte prefixes; keys that share a prefix, are
// shorter than 8 bytes, or differ only by trailing zero bytes must still
// come out in byte order (the decoder refuses any other order).
func TestLargeMapsAndSetsSortCanonically(t *testing.T) {
	m := map[string]types.AttributeValue{"a": N("1"), "a\x00": N("2"), "": N("3"), "\xff": N("4")}
	for i := range 3 * ordThreshold {
		for _, k := range []string{fmt.Sprintf("sameprefix-%03d", i), fmt.Sprintf("%d", i), fmt.Sprintf("k%03d", 3*ordThreshold-i)} {
			m[k] = N("1.50")
		}
	}
	var ns []string
	want := map[string]bool{}
	for i := range 3 * ordThreshold {
		x := fmt.Sprintf("%d.5E-%d", 1000-i, i%5)
		ns = append(ns, x)
		c, err := CanonicalNumber(x)
		if err != nil {
			t.Fatal(err)
		}
		want[c] = true
	}
	ns = append(ns, "12345678.9", "12345678.91", "123456789", "-12345678.9")
	for _, x := range ns[len(ns)-4:] {
		want[x] = true
	}
	nested := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"inner": &types.AttributeValueMemberM{Value: m}, "ns": NS(ns...)}}
	for _, v := range []types.AttributeValue{&types.AttributeValueMemberM{Value: m}, NS(ns...), nested} {
		var e encoder
		p, err := e.appendPayload(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := typeCode(v)
		got, err := decodePayload(code, p)
		if err != nil {
			t.Fatalf("canonical encoding of a large value does not decode (order?): %v", err)
		}
		if gs, ok := got.(*types.AttributeValueMemberNS); ok {
			if len(gs.Value) != len(want) || !slices.IsSorted(gs.Value) {
				t.Fatalf("NS: %d elements, sorted %v", len(gs.Value), slices.IsSorted(gs.Value))
			}
			for _, x := range gs.Value {
				if !want[x] {
					t.Fatalf("NS element %q unexpected", x)
				}
			}
		}
		if len(e.ord) != 0 || len(e.kvs) != 0 || len(e.offs) != 0 {
			t.Fatal("encoder stacks not unwound")
		}
	}
	// Duplicates in a large set are still found.
	var e encoder
	if _, err := e.appendPayload(nil, NS(append(slices.Clone(ns), "1.5E-0", "1.50")...)); !errors.Is(err, errDuplicate) {
		t.Fatalf("duplicate in a large NS: %v", err)
	}
}
