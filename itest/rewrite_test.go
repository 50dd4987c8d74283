package itest_test

// These tests record what DynamoDB Local 3.3.0 does to values between PutItem
// and GetItem. attrcrypt signs items, so it must canonicalise exactly what the
// database may rewrite. The expectations were observed, not assumed; where
// they look odd, the comment says which Java behaviour explains them.
//
// Summary of the observed rules:
//   - A top-level N, and every element of a top-level NS, comes back in plain
//     canonical decimal: no exponent, no leading zeros, no trailing fraction
//     zeros or dot, no "+", and zero (also "-0.0") as "0". This is Java's
//     BigDecimal.stripTrailingZeros().toPlainString().
//   - An N nested in an L or M comes back verbatim, exactly as written.
//   - An NS nested in an L or M comes back with each element as Java's
//     BigDecimal.toString(): leading zeros and "+" dropped, trailing zeros and
//     the scale kept ("1.50", "0.0"), exponents as "1E+3", "1E-7".
//   - Sets come back sorted, at any depth: NS numerically, SS by UTF-16 code
//     units (Java's String.compareTo, so U+1F600 sorts before U+E000, unlike
//     UTF-8 byte order), BS by bytes compared as signed (0x80..0xff before
//     0x00..0x7f).
//   - Map keys come back in Java HashMap order (String.hashCode buckets,
//     arrival order within a bucket): neither sorted nor as written.
//   - S and B values come back byte for byte (no Unicode normalisation).
//   - Numbers are validated at every depth: at most 38 significant digits,
//     magnitude in [1E-130, 1E+126), decimal syntax only; sets must not be
//     empty or hold duplicates, and NS duplicates compare numerically.
//
// Real DynamoDB may differ in the details (set order in particular), so
// attrcrypt must not depend on any particular output form: it must reduce
// every number to one canonical text and sort sets and map keys itself.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/dynaseal/dynaseal/itest"
)

// roundTrip puts item (which must hold pk and sk) and returns it as GetItem
// decodes it, with the raw JSON of each attribute as DynamoDB Local sent it.
func roundTrip(t *testing.T, c *dynamodb.Client, table string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, map[string]string) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
		t.Fatal(err)
	}
	var raw rawRecorder
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &table,
		Key:            map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]},
		ConsistentRead: aws.Bool(true),
	}, func(o *dynamodb.Options) { o.HTTPClient = &raw })
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Item map[string]json.RawMessage }
	if err := json.Unmarshal(raw.body, &body); err != nil {
		t.Fatalf("response %s: %v", raw.body, err)
	}
	rawAttrs := make(map[string]string, len(body.Item))
	for k, v := range body.Item {
		rawAttrs[k] = string(v)
	}
	return got.Item, rawAttrs
}

// rawRecorder is an HTTP client that keeps the last response body.
type rawRecorder struct{ body []byte }

func (r *rawRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if r.body, err = io.ReadAll(resp.Body); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(r.body))
	return resp, nil
}

func TestTopLevelNumbersAreCanonicalised(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	cases := []struct{ in, want string }{
		{"1.50", "1.5"},
		{"0012", "12"},
		{"1E3", "1000"},
		{"1e3", "1000"},
		{"1.0E+2", "100"},
		{"5E+0", "5"},
		{"0.1e1", "1"},
		{"+5", "5"},
		{"1.", "1"},
		{".5", "0.5"},
		{"-0.0", "0"},
		{"-0", "0"},
		{"0.000", "0"},
		{"00.000e10", "0"},
		{"1e-3", "0.001"},
		{"1e-7", "0.0000001"},
		{"-00.10", "-0.1"},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},             // 38 digits
		{"12345678901234567890123456789012345678000000", "12345678901234567890123456789012345678000000"}, // 38 significant digits
		// The extremes: written out in full, never with an exponent.
		{"9.9999999999999999999999999999999999999E+125", strings.Repeat("9", 38) + strings.Repeat("0", 88)},
		{"1E-130", "0." + strings.Repeat("0", 129) + "1"},
		{"-1e-130", "-0." + strings.Repeat("0", 129) + "1"},
	}
	item := key("numbers", "top")
	for i, tc := range cases {
		item[attrName(i)] = n(tc.in)
	}
	got, raw := roundTrip(t, c, table, item)
	for i, tc := range cases {
		name := attrName(i)
		if g := got[name].(*types.AttributeValueMemberN).Value; g != tc.want {
			t.Errorf("N %q came back as %q, want %q", tc.in, g, tc.want)
		}
		if want := `{"N":"` + tc.want + `"}`; raw[name] != want {
			t.Errorf("N %q: raw %s, want %s", tc.in, raw[name], want)
		}
	}
}

func TestNumberKeysCompareNumerically(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewTable(t, c, &dynamodb.CreateTableInput{
		TableName: aws.String("nkey"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
	})
	// A key written as 0012.50 is stored as 12.5 and found by any spelling
	// of the same number.
	got, _ := roundTrip(t, c, table, map[string]types.AttributeValue{"pk": s("p"), "sk": n("0012.50")})
	if g := got["sk"].(*types.AttributeValueMemberN).Value; g != "12.5" {
		t.Errorf("sort key 0012.50 came back as %q, want 12.5", g)
	}
	out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: &table,
		Key:       map[string]types.AttributeValue{"pk": s("p"), "sk": n("1.25E1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		t.Error("GetItem with sort key 1.25E1 did not find the item written as 0012.50")
	}
}

func TestTopLevelSetsAreSorted(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	item := key("sets", "top")
	item["ns"] = &types.AttributeValueMemberNS{Value: []string{"1E3", "-0.0", "1e-3", "1.0E+2", "0012", "+7", ".5", "5.", "1e-7", "-00.10", "1.50", "-3"}}
	item["ss"] = &types.AttributeValueMemberSS{Value: []string{"zeta", "alpha", "Beta", "beta", "é", "a", "ab", "10", "9", "", "\uFFFD", "😀", "\uE000"}}
	item["bs"] = &types.AttributeValueMemberBS{Value: [][]byte{{0xff}, {0x01}, {0xfe}, {0x00}, {0x10, 0x01}, {0x10}, {0x80}, {0x7f}, {0x81}}}
	got, raw := roundTrip(t, c, table, item)

	// NS: canonicalised like a top-level N, then sorted numerically.
	wantNS := []string{"-3", "-0.1", "0", "0.0000001", "0.001", "0.5", "1.5", "5", "7", "12", "100", "1000"}
	if g := got["ns"].(*types.AttributeValueMemberNS).Value; !slices.Equal(g, wantNS) {
		t.Errorf("NS = %q, want %q", g, wantNS)
	}
	// SS: UTF-16 code unit order. U+1F600 (surrogates D83D DE00) sorts
	// before U+E000 and U+FFFD; in UTF-8 byte order it would sort last.
	// An empty string is accepted as a set element.
	wantSS := []string{"", "10", "9", "Beta", "a", "ab", "alpha", "beta", "zeta", "é", "😀", "\uE000", "\uFFFD"}
	if g := got["ss"].(*types.AttributeValueMemberSS).Value; !slices.Equal(g, wantSS) {
		t.Errorf("SS = %q, want %q", g, wantSS)
	}
	if want := `{"SS":["","10","9","Beta","a","ab","alpha","beta","zeta","é","\uD83D\uDE00","` + "\uE000" + `","�"]}`; raw["ss"] != want {
		t.Errorf("SS raw = %s, want %s", raw["ss"], want)
	}
	// BS: bytes compared as signed Java bytes.
	wantBS := [][]byte{{0x80}, {0x81}, {0xfe}, {0xff}, {0x00}, {0x01}, {0x10}, {0x10, 0x01}, {0x7f}}
	if g := got["bs"].(*types.AttributeValueMemberBS).Value; !slices.EqualFunc(g, wantBS, bytes.Equal) {
		t.Errorf("BS = %x, want %x", g, wantBS)
	}
}

// TestSetOrderRules checks the three orders on random sets, so the rules in
// the summary above hold beyond the hand-picked cases.
func TestSetOrderRules(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	r := rand.New(rand.NewPCG(1, 2))
	item := key("sets", "random")
	seenS, seenB := map[string]bool{}, map[string]bool{}
	var ss []string
	var bs [][]byte
	for len(ss) < 60 {
		runes := make([]rune, 1+r.IntN(3))
		for i := range runes {
			switch r.IntN(3) {
			case 0:
				runes[i] = rune('A' + r.IntN(58))
			case 1:
				runes[i] = rune(0xE000 + r.IntN(0x1FFF)) // private use .. U+FFFE
			default:
				runes[i] = rune(0x10000 + r.IntN(0x2000)) // needs a surrogate pair
			}
		}
		if v := string(runes); !seenS[v] {
			seenS[v] = true
			ss = append(ss, v)
		}
		b := make([]byte, 1+r.IntN(3))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if !seenB[string(b)] {
			seenB[string(b)] = true
			bs = append(bs, b)
		}
	}
	item["ss"] = &types.AttributeValueMemberSS{Value: ss}
	item["bs"] = &types.AttributeValueMemberBS{Value: bs}
	got, _ := roundTrip(t, c, table, item)

	gotSS := got["ss"].(*types.AttributeValueMemberSS).Value
	if !slices.IsSortedFunc(gotSS, compareUTF16) || len(gotSS) != len(ss) {
		t.Errorf("SS not in UTF-16 order: %q", gotSS)
	}
	if slices.IsSorted(gotSS) {
		t.Error("SS also in UTF-8 byte order: the sample does not tell the two orders apart")
	}
	gotBS := got["bs"].(*types.AttributeValueMemberBS).Value
	if !slices.IsSortedFunc(gotBS, compareSignedBytes) || len(gotBS) != len(bs) {
		t.Errorf("BS not in signed byte order: %x", gotBS)
	}
}

func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func compareSignedBytes(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if x, y := int8(a[i]), int8(b[i]); x != y {
			return int(x) - int(y)
		}
	}
	return len(a) - len(b)
}

func TestNestedValues(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	item := key("nested", "1")
	// Map keys come back in Java HashMap order: by bucket, String.hashCode
	// modulo the table size (8 buckets for these small maps, 16 for 6 to 12
	// keys), and in arrival order within a bucket. The keys are chosen to
	// fall in distinct buckets (zz 0, a 1, B 2, ü 4, _ 7; inside zz: ss 0,
	// bs 1, n 6) so the order does not depend on the order the SDK happened
	// to send them in (Go map order).
	item["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"_": &types.AttributeValueMemberNS{Value: []string{"0012", "1e-7", "1E3", "-00.10", "1.50"}},
		"a": n("0012"),
		"B": n("1E3"),
		"ü": &types.AttributeValueMemberL{Value: []types.AttributeValue{n("-0.0"), n("1e-3"), n("+7"), s("x")}},
		"zz": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"n":  n("1.50"),
			"ss": &types.AttributeValueMemberSS{Value: []string{"b", "a", "\uFFFD", "😀"}},
			"bs": &types.AttributeValueMemberBS{Value: [][]byte{{0xff}, {0x01}, {0x80}}},
		}},
	}}
	item["l"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{
		&types.AttributeValueMemberNS{Value: []string{"1E3", "0012", "1.50", "0.000"}},
		n("0012"),
	}}
	_, raw := roundTrip(t, c, table, item)

	// Nested N: verbatim. Nested NS: BigDecimal.toString, numeric order.
	// Nested SS and BS: sorted as at top level. Map keys: HashMap order.
	wantM := `{"M":{` +
		`"zz":{"M":{"ss":{"SS":["a","b","\uD83D\uDE00","�"]},"bs":{"BS":["gA==","/w==","AQ=="]},"n":{"N":"1.50"}}},` +
		`"a":{"N":"0012"},` +
		`"B":{"N":"1E3"},` +
		`"ü":{"L":[{"N":"-0.0"},{"N":"1e-3"},{"N":"+7"},{"S":"x"}]},` +
		`"_":{"NS":["-0.10","1E-7","1.50","12","1E+3"]}}}`
	if raw["m"] != wantM {
		t.Errorf("nested map came back as\n%s\nwant\n%s", raw["m"], wantM)
	}
	if want := `{"L":[{"NS":["0.000","1.50","12","1E+3"]},{"N":"0012"}]}`; raw["l"] != want {
		t.Errorf("list came back as %s, want %s", raw["l"], want)
	}
}

func TestStringsAndBinaryAreVerbatim(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	item := key("verbatim", "1")
	item["decomposed"] = s("e\u0301") // not normalised to U+00E9
	item["composed"] = s("\u00e9")    // not decomposed either
	item["spaces"] = s("  padded  ")  // not trimmed
	item["empty"] = s("")             // empty non-key S is allowed
	item["bin"] = &types.AttributeValueMemberB{Value: []byte{0, 0xff, 1}}
	item["emptybin"] = &types.AttributeValueMemberB{Value: []byte{}}
	got, _ := roundTrip(t, c, table, item)
	for name, want := range map[string]string{"decomposed": "e\u0301", "composed": "\u00e9", "spaces": "  padded  ", "empty": ""} {
		if g := got[name].(*types.AttributeValueMemberS).Value; g != want {
			t.Errorf("%s = %q, want %q", name, g, want)
		}
	}
	if g := got["bin"].(*types.AttributeValueMemberB).Value; !bytes.Equal(g, []byte{0, 0xff, 1}) {
		t.Errorf("bin = %x", g)
	}
	if g := got["emptybin"].(*types.AttributeValueMemberB).Value; len(g) != 0 {
		t.Errorf("emptybin = %x", g)
	}
}

func TestInvalidValuesAreRejected(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	const (
		precision = "DynamoDB only supports precision up to 38 digits"
		overflow  = "Number overflow. Attempting to store a number with magnitude larger than supported range"
		underflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
		notNumber = "A value provided cannot be converted into a number"
		dupes     = "Input collection contains duplicates"
	)
	nested := func(av types.AttributeValue) types.AttributeValue {
		return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": av}}
	}
	cases := []struct {
		name string
		av   types.AttributeValue
		want string
	}{
		{"39 digits", n("123456789012345678901234567890123456789"), precision},
		{"39 significant digits with a fraction", n("12345678901234567890123456789012345678.9"), precision},
		{"39 nines before the exponent", n("9.99999999999999999999999999999999999999E+125"), precision},
		{"1e200", n("1e200"), overflow},
		{"1e126", n("1e126"), overflow},
		{"1e-131", n("1e-131"), underflow},
		{"NaN", n("NaN"), notNumber},
		{"Infinity", n("Infinity"), notNumber},
		{"empty", n(""), notNumber},
		{"hex", n("0x10"), notNumber},
		{"comma", n("1,5"), notNumber},
		{"leading space", n(" 1"), notNumber},
		{"bare exponent", n("1e"), notNumber},
		{"double sign", n("--1"), notNumber},
		{"two dots", n("1.2.3"), notNumber},
		// Numbers are validated at every depth, not only at the top.
		{"nested 1e200", nested(n("1e200")), overflow},
		{"nested word", nested(n("abc")), notNumber},
		{"39 digits in a list", &types.AttributeValueMemberL{Value: []types.AttributeValue{n("123456789012345678901234567890123456789")}}, precision},
		{"NS element", &types.AttributeValueMemberNS{Value: []string{"1", "x"}}, notNumber},
		// Set elements must differ; for NS, as numbers.
		{"NS 1 and 1.0", &types.AttributeValueMemberNS{Value: []string{"1", "1.0"}}, dupes},
		{"nested NS 1 and 1.0", nested(&types.AttributeValueMemberNS{Value: []string{"1", "1.0"}}), dupes},
		// This message quotes the values: DynamoDB errors may carry item data.
		{"SS duplicate", &types.AttributeValueMemberSS{Value: []string{"a", "a"}}, "One or more parameter values were invalid: Input collection [a, a] contains duplicates"},
		{"empty SS", &types.AttributeValueMemberSS{Value: []string{}}, "One or more parameter values were invalid: An string set  may not be empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			item := key("invalid", tc.name)
			item["v"] = tc.av
			_, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &table, Item: item})
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("PutItem = %v, want a ValidationException", err)
			}
			if apiErr.ErrorCode() != "ValidationException" || apiErr.ErrorMessage() != tc.want {
				t.Errorf("got %s: %q\nwant ValidationException: %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), tc.want)
			}
		})
	}
}

func attrName(i int) string { return "n" + string(rune('a'+i/26)) + string(rune('a'+i%26)) }
