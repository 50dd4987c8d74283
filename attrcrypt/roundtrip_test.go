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

func TestSealOpenReference(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	in := refItem()
	orig := cloneItem(in)
	sealed, err := s.Seal(in, key)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, in, orig) // Seal must not modify its input
	for _, name := range []string{"name", "email", "ssn", "notes"} {
		b, ok := sealed[name].(*types.AttributeValueMemberB)
		if !ok {
			t.Fatalf("%s stored as %T, want B", name, sealed[name])
		}
		if b.Value[0] != codeS {
			t.Errorf("%s stored type byte %#x, want %#x", name, b.Value[0], codeS)
		}
		if bytes.Contains(b.Value, []byte(in[name].(*types.AttributeValueMemberS).Value)) {
			t.Errorf("%s ciphertext contains the plaintext", name)
		}
	}
	for _, name := range []string{"tenant", "id", "plan", "created", "score", "tags"} {
		if sealed[name] != in[name] {
			t.Errorf("signed attribute %s changed by Seal", name)
		}
	}
	if _, ok := sealed[HeaderAttribute]; !ok {
		t.Fatal("no header attribute")
	}
	if sig := sealed[SignatureAttribute].(*types.AttributeValueMemberB).Value; len(sig) != 32 {
		t.Fatalf("signature length %d", len(sig))
	}
	got, res, err := s.Open(sealed, key)
	if err != nil {
		t.Fatal(err)
	}
	if res.NeedsReseal() || res.MigrationUsed || res.Ref != key.Ref {
		t.Errorf("unexpected OpenResult %+v", res)
	}
	assertEqualItems(t, got, orig)

	overhead := ItemSize(sealed) - ItemSize(orig)
	t.Logf("reference item: %d bytes plain, %d bytes sealed, overhead %d bytes", ItemSize(orig), ItemSize(sealed), overhead)
	if overhead >= 200 {
		t.Errorf("overhead %d bytes, budget < 200", overhead)
	}
	if want := 3 + headerLen("", 10, encodePlainNames(nil)) + 3 + 32 + 4*17; overhead != want {
		t.Errorf("overhead %d, want %d", overhead, want)
	}
}

func TestRoundTripEveryType(t *testing.T) {
	values := map[string]types.AttributeValue{
		"s":       S("hello, 世界"),
		"s_empty": S(""),
		"n_int":   N("42"),
		"n_neg":   N("-0.000125"),
		"n_big":   N("99999999999999999999999999999999999999"),
		"n_tiny":  N("1E-130"),
		"n_huge":  N("9.9999999999999999999999999999999999999E+125"),
		"b":       B([]byte{0, 1, 2, 0xff}),
		"b_empty": B([]byte{}),
		"bool_t":  &types.AttributeValueMemberBOOL{Value: true},
		"bool_f":  &types.AttributeValueMemberBOOL{Value: false},
		"null":    &types.AttributeValueMemberNULL{Value: true},
		"ss":      SS("b", "a", "c"),
		"ss_one":  SS(""),
		"ns":      NS("3", "1", "2.5", "-7"),
		"bs":      &types.AttributeValueMemberBS{Value: [][]byte{{3}, {1, 2}, {}}},
		"l_empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		"m_empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			S("x"), N("1"), &types.AttributeValueMemberNULL{Value: true},
			&types.AttributeValueMemberL{Value: []types.AttributeValue{B([]byte("in"))}},
			SS("z", "y"),
		}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"b": &types.AttributeValueMemberBOOL{Value: true},
			"a": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"deep": &types.AttributeValueMemberL{Value: []types.AttributeValue{NS("10", "9"), &types.AttributeValueMemberBS{Value: [][]byte{{9}, {8}}}}},
				"":     S("empty key"),
			}},
		}},
	}
	for _, action := range []Action{ActionEncrypt, ActionSign} {
		t.Run(action.String(), func(t *testing.T) {
			actions := map[string]Action{}
			item := map[string]types.AttributeValue{"tenant": S("t1"), "id": S("x")}
			for k, v := range values {
				actions[k] = action
				item[k] = v
			}
			s, err := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: actions})
			if err != nil {
				t.Fatal(err)
			}
			key := testKey("t1", "", 1)
			sealed, err := s.Seal(item, key)
			if err != nil {
				t.Fatal(err)
			}
			if action == ActionEncrypt {
				for k := range values {
					if _, ok := sealed[k].(*types.AttributeValueMemberB); !ok {
						t.Errorf("%s not stored as B", k)
					}
				}
			}
			got, _, err := s.Open(sealed, key)
			if err != nil {
				t.Fatal(err)
			}
			// Signed values come back in the same canonical form as
			// encrypted ones: the form the signature covered.
			assertEqualItems(t, got, canonicalItem(t, item))
		})
	}
}

// canonicalItem returns what Open yields for encrypted and signed values:
// numbers in canonical text, sets in canonical order (computed through the
// canonical encoding, independently of canonicalValue).
func canonicalItem(t *testing.T, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out := make(map[string]types.AttributeValue, len(item))
	var e encoder
	for k, v := range item {
		code, err := typeCode(v)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.appendPayload(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		cv, err := decodePayload(code, p)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = cv
	}
	return out
}

func TestRoundTripCanonicalisesEncryptedValues(t *testing.T) {
	s, _ := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: map[string]Action{"n": ActionEncrypt, "ns": ActionEncrypt, "ss": ActionEncrypt}})
	key := testKey("t1", "", 1)
	sealed, err := s.Seal(map[string]types.AttributeValue{"tenant": S("t1"), "n": N("0012.50"), "ns": NS("1E3", "-0.0", "2"), "ss": SS("b", "a")}, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Open(sealed, key)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, got, map[string]types.AttributeValue{"tenant": S("t1"), "n": N("12.5"), "ns": NS("0", "1000", "2"), "ss": SS("a", "b")})
}

// TestOpenReturnsVerifiedSignedForm: an insider rewrites signed numbers
// and sets into other texts of the same value (the signature still
// verifies); Open returns the canonical form it verified, so the rewrite is
// invisible and a nested 1000 written as 1E3 still decodes as an integer.
func TestOpenReturnsVerifiedSignedForm(t *testing.T) {
	s, _ := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant"})
	key := testKey("t1", "", 1)
	item := map[string]types.AttributeValue{
		"tenant": S("t1"), "price": N("1.5"), "qty": N("1000"),
		"m":  M(map[string]types.AttributeValue{"n": N("1000"), "l": L(N("2"), NS("1", "2"))}),
		"ns": NS("1", "1.5"), "ss": SS("a", "b"),
	}
	sealed, err := s.Seal(item, key)
	if err != nil {
		t.Fatal(err)
	}
	edited := cloneItem(sealed)
	edited["price"] = N("15E-1")
	edited["qty"] = N("1.000E+3")
	edited["m"] = M(map[string]types.AttributeValue{"n": N("1E3"), "l": L(N("+2.0"), NS("2", "0001"))})
	edited["ns"] = NS("1.50", "1E0")
	edited["ss"] = SS("b", "a")
	got, _, err := s.Open(edited, key)
	if err != nil {
		t.Fatalf("rewritten values of the same value must verify: %v", err)
	}
	assertEqualItems(t, got, item)
	// An item already canonical comes back with the stored values shared.
	got, _, err = s.Open(sealed, key)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range item {
		if got[name] != v {
			t.Errorf("%s: canonical value was copied", name)
		}
	}
	// OpenRecorded does the same.
	got, err = s.OpenRecorded(edited, key)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, got, item)
}

func TestRoundTripLargeAndNearLimit(t *testing.T) {
	s, _ := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: map[string]Action{"big": ActionEncrypt, "bin": ActionEncrypt}})
	key := testKey("t1", "", 1)
	base := map[string]types.AttributeValue{"tenant": S("t1"), "bin": B(bytes.Repeat([]byte{7}, 1000))}
	overhead := func() int {
		item := cloneItem(base)
		item["big"] = S("")
		sealed, err := s.Seal(item, key)
		if err != nil {
			t.Fatal(err)
		}
		return ItemSize(sealed) - len("big")
	}()
	item := cloneItem(base)
	item["big"] = S(strings.Repeat("x", MaxItemSize-overhead-len("big")))
	sealed, err := s.Seal(item, key)
	if err != nil {
		t.Fatal(err)
	}
	if sz := ItemSize(sealed); sz != MaxItemSize {
		t.Fatalf("sealed size %d, want exactly %d", sz, MaxItemSize)
	}
	got, _, err := s.Open(sealed, key)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, got, item)
	item["big"] = S(strings.Repeat("x", MaxItemSize-overhead-len("big")+1))
	sealed, err = s.Seal(item, key)
	if err != nil {
		t.Fatal(err)
	}
	if ItemSize(sealed) <= MaxItemSize {
		t.Fatal("one more byte should exceed the limit")
	}
}

func TestSealRefusesBadInput(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	cases := map[string]struct {
		mutate func(map[string]types.AttributeValue)
		want   error
	}{
		"reserved name":     {func(m map[string]types.AttributeValue) { m["__x"] = S("v") }, ErrMalformed},
		"header name":       {func(m map[string]types.AttributeValue) { m[HeaderAttribute] = B(nil) }, ErrMalformed},
		"tenant missing":    {func(m map[string]types.AttributeValue) { delete(m, "tenant") }, ErrMalformed},
		"tenant not S":      {func(m map[string]types.AttributeValue) { m["tenant"] = N("1") }, ErrMalformed},
		"other tenant":      {func(m map[string]types.AttributeValue) { m["tenant"] = S("tenant-0043") }, ErrWrongTenant},
		"bad number signed": {func(m map[string]types.AttributeValue) { m["score"] = N("12abc") }, ErrMalformed},
		"bad number enc":    {func(m map[string]types.AttributeValue) { m["ssn"] = N("1e999") }, ErrMalformed},
		"nil value":         {func(m map[string]types.AttributeValue) { m["plan"] = nil }, ErrMalformed},
		"NULL false":        {func(m map[string]types.AttributeValue) { m["name"] = &types.AttributeValueMemberNULL{} }, ErrMalformed},
		"dup SS":            {func(m map[string]types.AttributeValue) { m["tags"] = SS("a", "a") }, ErrMalformed},
		"dup NS by value":   {func(m map[string]types.AttributeValue) { m["tags"] = NS("1.5", "1.50") }, ErrMalformed},
		"dup BS": {func(m map[string]types.AttributeValue) {
			m["notes"] = &types.AttributeValueMemberBS{Value: [][]byte{{1}, {1}}}
		}, ErrMalformed},
		"too deep":        {func(m map[string]types.AttributeValue) { m["notes"] = deepList(40) }, ErrMalformed},
		"too many digits": {func(m map[string]types.AttributeValue) { m["score"] = N(strings.Repeat("1", 39)) }, ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			item := refItem()
			c.mutate(item)
			_, err := s.Seal(item, key)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			assertNoValues(t, err)
		})
	}
	bad := key
	bad.Zero()
	if _, err := s.Seal(refItem(), bad); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("zero key: %v", err)
	}
	bad = key
	bad.Ref.Version = 0
	if _, err := s.Seal(refItem(), bad); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("version 0: %v", err)
	}
}

func deepList(n int) types.AttributeValue {
	var v types.AttributeValue = S("leaf")
	for range n {
		v = &types.AttributeValueMemberL{Value: []types.AttributeValue{v}}
	}
	return v
}

func deepMap(n int) types.AttributeValue {
	var v types.AttributeValue = N("1")
	for range n {
		v = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": v}}
	}
	return v
}

// TestDepthLimitMatchesDynamoDB checks both sides of DynamoDB's nesting
// limit (31 nested documents, measured against DynamoDB Local in
// TestDynamoDBLocalNestingLimit) for every action and document kind, and
// that a reader still opens the 32 levels earlier versions sealed.
func TestDepthLimitMatchesDynamoDB(t *testing.T) {
	s, _ := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: map[string]Action{"d": ActionEncrypt}})
	key := testKey("t1", "", 1)
	for _, name := range []string{"d", "signed"} {
		for kind, mk := range map[string]func(int) types.AttributeValue{"L": deepList, "M": deepMap} {
			item := map[string]types.AttributeValue{"tenant": S("t1"), name: mk(maxDepth)}
			sealed, err := s.Seal(item, key)
			if err != nil {
				t.Fatalf("%s %s at depth %d: %v", name, kind, maxDepth, err)
			}
			got, _, err := s.Open(sealed, key)
			if err != nil {
				t.Fatal(err)
			}
			assertEqualItems(t, got, item)
			item[name] = mk(maxDepth + 1)
			_, err = s.Seal(item, key)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), quote(name)) {
				t.Fatalf("%s %s at depth %d: %v, want ErrMalformed naming the attribute", name, kind, maxDepth+1, err)
			}
			// A set or scalar under the deepest document adds no level.
			item[name] = &types.AttributeValueMemberL{Value: []types.AttributeValue{mk(maxDepth - 1), SS("a")}}
			if _, err := s.Seal(item, key); err != nil {
				t.Fatalf("%s: set beside a %d-deep document: %v", name, maxDepth, err)
			}
		}
	}
	// Items sealed by earlier versions (32 levels) still open, and Reseal
	// keeps them.
	for _, name := range []string{"d", "signed"} {
		item := map[string]types.AttributeValue{"tenant": S("t1"), name: deepList(32)}
		old, err := sealLegacy(s, item, key)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := s.Open(old, key)
		if err != nil {
			t.Fatalf("%s: 32-level legacy item: %v", name, err)
		}
		assertEqualItems(t, got, item)
		if _, err := s.Reseal(old, key, testKey("t1", "", 2)); err != nil {
			t.Fatalf("%s: Reseal of a 32-level legacy item: %v", name, err)
		}
		item[name] = deepList(33)
		if _, err := sealLegacy(s, item, key); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: 33 levels sealed by the legacy rules: %v", name, err)
		}
	}
}

// sealLegacy seals as versions before the UTF-8 and depth corrections did
// (no UTF-8 check, 32 levels).
func sealLegacy(s *Sealer, item map[string]types.AttributeValue, key Key) (map[string]types.AttributeValue, error) {
	var attrs []attr
	for name, av := range item {
		if a := s.action(name); a != ActionPlain {
			attrs = append(attrs, attr{name: name, av: av, act: a})
		}
	}
	sortAttrs(attrs)
	st := getScratch()
	defer putScratch(st)
	return s.sealCovered(st, item, &key, attrs, s.plainRaw, false)
}

func TestNewSealerValidates(t *testing.T) {
	cases := map[string]Config{
		"no table":         {TenantAttribute: "t"},
		"no tenant":        {Table: "x"},
		"reserved tenant":  {Table: "x", TenantAttribute: "__t"},
		"reserved action":  {Table: "x", TenantAttribute: "t", Actions: map[string]Action{"__a": ActionSign}},
		"tenant encrypted": {Table: "x", TenantAttribute: "t", Actions: map[string]Action{"t": ActionEncrypt}},
		"tenant plain":     {Table: "x", TenantAttribute: "t", Actions: map[string]Action{"t": ActionPlain}},
		"unknown action":   {Table: "x", TenantAttribute: "t", Actions: map[string]Action{"a": Action(9)}},
	}
	for name, cfg := range cases {
		if _, err := NewSealer(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
	if !IsReserved(HeaderAttribute) || !IsReserved(SignatureAttribute) || !IsReserved("__anything") || IsReserved("_h") || IsReserved("h__") {
		t.Error("IsReserved disagrees with the documented prefix rule")
	}
}

func TestSortAttrs(t *testing.T) {
	for n := range 60 {
		var a []attr
		for i := range n {
			a = append(a, attr{name: string(rune('a'+(i*7919)%26)) + string(rune('a'+(i*31)%26))})
		}
		sortAttrs(a)
		for i := 1; i < len(a); i++ {
			if a[i-1].name > a[i].name {
				t.Fatalf("n=%d: not sorted at %d", n, i)
			}
		}
	}
}

// Items with more covered attributes than the stack buffers hold take the
// heap path in Seal and Open (including Open's second covered-set pass).
func TestManyAttributes(t *testing.T) {
	key := testKey("t1", "", 1)
	item := map[string]types.AttributeValue{"tenant": S("t1")}
	actions := map[string]Action{}
	for i := range 3 * stackAttrs {
		name := fmt.Sprintf("a%03d", (i*37)%(3*stackAttrs))
		item[name] = N(fmt.Sprint(i))
		if i%3 == 0 {
			actions[name] = ActionEncrypt
		}
	}
	w := sealerWith(t, actions, false)
	sealed, err := w.Seal(item, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := w.Open(sealed, key)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, got, item)
	// A reader that now marks one signed attribute plain: second pass.
	readerActions := map[string]Action{"a001": ActionPlain}
	for k, v := range actions {
		readerActions[k] = v
	}
	r := sealerWith(t, readerActions, false)
	got, res, err := r.Open(sealed, key)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, got, item)
	if len(res.Drift) != 1 || res.Drift[0].Name != "a001" {
		t.Fatalf("drift %+v", res.Drift)
	}
	sealed["a002"] = N("-1")
	_, _, err = r.Open(sealed, key)
	wantTamper(t, err, ReasonSignature)
}

// The sorts compare 8-byte name prefixes first; names that share prefixes,
// contain zero or high bytes, or are longer than 8 bytes must still come out
// in bytewise order.
func TestSortAttrsPrefixes(t *testing.T) {
	alphabet := []string{"", "\x00", "a", "a\x00", "ab", "\xff", "abcdefgh", "abcdefgh\x00", "abcdefghi", "abcdefgg\xff", "é", "\x7f", "\x80"}
	rnd := uint32(1)
	next := func() int { rnd = rnd*1664525 + 1013904223; return int(rnd >> 8) }
	for round := range 300 {
		n := round % (stackAttrs + 1)
		var names []string
		seen := map[string]bool{}
		for len(names) < n {
			name := alphabet[next()%len(alphabet)] + alphabet[next()%len(alphabet)]
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
			if len(seen) > 150 {
				break
			}
		}
		want := slices.Clone(names)
		slices.Sort(want)

		var arr [stackAttrs]attr
		a := make([]attr, len(names))
		for i, name := range names {
			a[i] = attr{name: name}
			arr[i] = attr{name: name, prefix: namePrefix(name)}
		}
		sortAttrs(a)
		sortLocal(&arr, len(names))
		for i := range want {
			if a[i].name != want[i] || arr[i].name != want[i] {
				t.Fatalf("round %d: position %d: sortAttrs %q, sortLocal %q, want %q", round, i, a[i].name, arr[i].name, want[i])
			}
		}
	}
}

// The action table must agree with the configured map for configured names
// and give ActionSign for every other name, including names that share a
// prefix and length with configured ones.
func TestActionTable(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 40, 200} {
		actions := map[string]Action{}
		for i := range n {
			name := fmt.Sprintf("attribute-%03d", i) // shared 8-byte prefix
			if i%5 == 0 {
				name = fmt.Sprint(i)
			}
			actions[name] = []Action{ActionSign, ActionEncrypt, ActionPlain}[i%3]
		}
		actions["tenant"] = ActionSign
		s, err := NewSealer(Config{Table: "t", TenantAttribute: "tenant", Actions: actions})
		if err != nil {
			t.Fatal(err)
		}
		for name, a := range actions {
			if got := s.action(name); got != a {
				t.Fatalf("n=%d: action(%q) = %v, want %v", n, name, got, a)
			}
		}
		for _, name := range []string{"", "x", "attribute-999", "attribute-00", "attribute-0000", "tenantx", "tenan", "attribute-\x00\x00\x00"} {
			if _, ok := actions[name]; ok {
				continue
			}
			if got := s.action(name); got != ActionSign {
				t.Fatalf("n=%d: action(%q) = %v for an unconfigured name", n, name, got)
			}
		}
	}
}
