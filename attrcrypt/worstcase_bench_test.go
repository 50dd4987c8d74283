package attrcrypt

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Worst items a writer can build, each close to DynamoDB's 400 KB, for
// BenchmarkOpenWorstCase. Their cost per KB is compared with the reference
// item's (ns/KB metric); issue 12 requires at most 10 times.
func worstCases() map[string]func() (Config, map[string]types.AttributeValue) {
	name := func(p string, i int) string { return fmt.Sprintf("%s%05d", p, i) }
	return map[string]func() (Config, map[string]types.AttributeValue){
		// A long writer-plain list in the header and many attributes to
		// look up in it (the lookup was a linear scan per attribute). The
		// list comes from the writer; the reader's own schema is the
		// default (BenchmarkOpenWorstCase opens with a Sealer without
		// actions): a writer controls the item's bytes, not the reader's
		// configuration.
		"plain-list": func() (Config, map[string]types.AttributeValue) {
			acts := map[string]Action{}
			for i := range 18000 {
				acts[name("p", i)] = ActionPlain
			}
			item := map[string]types.AttributeValue{"tenant": S("t1")}
			for i := range 28000 {
				item[name("s", i)] = S("x")
			}
			return Config{Table: "w", TenantAttribute: "tenant", Actions: acts}, item
		},
		// As many covered attributes as fit: sorting and per-attribute work.
		"many-attributes": func() (Config, map[string]types.AttributeValue) {
			item := map[string]types.AttributeValue{"tenant": S("t1")}
			for i := range 45000 {
				item[name("a", i)] = N("1")
			}
			return Config{Table: "w", TenantAttribute: "tenant"}, item
		},
		// One signed number set of non-canonical, unsorted texts: every
		// element is canonicalised, sorted, and returned rewritten.
		"number-set": func() (Config, map[string]types.AttributeValue) {
			ns := make([]string, 0, 30000)
			for i := range 30000 {
				ns = append(ns, fmt.Sprintf("%d.0E-2", 30000-i))
			}
			return Config{Table: "w", TenantAttribute: "tenant"}, map[string]types.AttributeValue{"tenant": S("t1"), "ns": NS(ns...)}
		},
		// Wide and deep signed documents: map keys to sort at every level.
		"documents": func() (Config, map[string]types.AttributeValue) {
			var leaf types.AttributeValue = N("1.50")
			for range maxDepth - 2 {
				leaf = M(map[string]types.AttributeValue{"k": leaf, "j": L(N("2.0"))})
			}
			wide := map[string]types.AttributeValue{}
			for i := range 20000 {
				wide[name("k", 20000-i)] = N("0012")
			}
			wide["deep"] = leaf
			return Config{Table: "w", TenantAttribute: "tenant"}, map[string]types.AttributeValue{"tenant": S("t1"), "m": M(wide)}
		},
		// Many encrypted attributes (one GCM open each).
		"encrypted": func() (Config, map[string]types.AttributeValue) {
			acts := map[string]Action{}
			item := map[string]types.AttributeValue{"tenant": S("t1")}
			for i := range 12000 {
				acts[name("e", i)] = ActionEncrypt
				item[name("e", i)] = S("x")
			}
			return Config{Table: "w", TenantAttribute: "tenant", Actions: acts}, item
		},
	}
}

func BenchmarkOpenWorstCase(b *testing.B) {
	for _, c := range []string{"plain-list", "many-attributes", "number-set", "documents", "encrypted"} {
		b.Run(c, func(b *testing.B) {
			cfg, item := worstCases()[c]()
			w, err := NewSealer(cfg)
			if err != nil {
				b.Fatal(err)
			}
			key := testKey("t1", "", 1)
			sealed, err := w.Seal(item, key)
			if err != nil {
				b.Fatal(err)
			}
			s := w
			if c == "plain-list" {
				s, _ = NewSealer(Config{Table: cfg.Table, TenantAttribute: cfg.TenantAttribute})
			}
			size := ItemSize(sealed)
			if size > MaxItemSize {
				b.Fatalf("worst case %s is %d bytes, over DynamoDB's limit", c, size)
			}
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if _, _, err := s.Open(sealed, key); err != nil {
					b.Fatal(err)
				}
			}
			reportPerKB(b, processCPU()-cpu, size)
		})
	}
}

// BenchmarkOpenForgedPlainList is the attack of issue 12 without the key:
// a database writer copies a genuine header's salt and commitment, appends
// a huge writer-plain list and fills the item with attributes. Open must
// reject it (signature) at a cost linear in its size.
func BenchmarkOpenForgedPlainList(b *testing.B) {
	s := refSealer(b)
	key := testKey(refTenant, "", 1)
	sealed, err := s.Seal(refItem(), key)
	if err != nil {
		b.Fatal(err)
	}
	forged := cloneItem(sealed)
	hdr := bval(sealed, HeaderAttribute)
	// The reference header ends with an empty plain list (4 zero bytes).
	names := make([]string, 18000)
	for i := range names {
		names[i] = fmt.Sprintf("p%05d", i)
	}
	h := append(append([]byte(nil), hdr[:len(hdr)-4]...), encodePlainNames(names)...)
	forged[HeaderAttribute] = B(h)
	for i := range 28000 {
		forged[fmt.Sprintf("s%05d", i)] = S("x")
	}
	size := ItemSize(forged)
	if size > MaxItemSize {
		b.Fatalf("forged item is %d bytes", size)
	}
	if _, _, err := s.Open(forged, key); err == nil || !strings.Contains(err.Error(), "verification") {
		b.Fatalf("forged item: %v", err)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		_, _, _ = s.Open(forged, key)
	}
	reportPerKB(b, processCPU()-cpu, size)
}
