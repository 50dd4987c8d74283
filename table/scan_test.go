package table_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// TestScan: an admin scan with parallel segments opens every tenant's items
// under their own keys, reports a tampered item and a shredded tenant's
// items per item, and stops cleanly when the caller breaks.
func TestScan(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	tenants := []string{"tenant-a", "tenant-b", "tenant-c"}
	for _, ten := range tenants {
		if err := tb.For(ten).BatchWrite(ctx, manyPatients(ten, 40), nil); err != nil {
			t.Fatal(err)
		}
	}
	it := rawGet(t, e.c, name, pkey("tenant-a", "p0003"))
	it["plan"] = table.S("edited")
	rawPut(t, e.c, name, it)
	if err := e.store.Shred(ctx, "tenant-c"); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	var tampered, shredded int
	for p, err := range tb.Scan(ctx, table.ScanInput{Segments: 3, PageSize: 7}) {
		var ie *table.ItemError
		switch {
		case err == nil:
			got[p.Tenant+"/"+p.ID]++
		case errors.As(err, &ie) && errors.Is(err, table.ErrTampered):
			if id := ie.Key.SK.(*types.AttributeValueMemberS).Value; id != "p0003" {
				t.Fatalf("tampered item reported as %s", id)
			}
			tampered++
		case errors.Is(err, table.ErrKeyShredded):
			shredded++
		default:
			t.Fatal(err)
		}
	}
	if len(got) != 79 || tampered != 1 || shredded != 40 {
		t.Fatalf("scan: %d opened, %d tampered, %d shredded; want 79, 1, 40", len(got), tampered, shredded)
	}
	for k, n := range got {
		if n != 1 {
			t.Fatalf("%s seen %d times", k, n)
		}
	}
	n := 0
	for range tb.Scan(ctx, table.ScanInput{Segments: 4, PageSize: 5}) {
		if n++; n == 3 {
			break
		}
	}
}

// countingCodec is a Codec (and Versioner) other than the reflection codec.
type countingCodec struct {
	table.Codec[Patient]
	marshals, unmarshals, setVersions atomic.Int64
}

func (c *countingCodec) Marshal(v *Patient) (map[string]types.AttributeValue, error) {
	c.marshals.Add(1)
	return c.Codec.Marshal(v)
}

func (c *countingCodec) Unmarshal(m map[string]types.AttributeValue, v *Patient) error {
	c.unmarshals.Add(1)
	return c.Codec.Unmarshal(m, v)
}

func (c *countingCodec) Version(v *Patient) int64 { return v.Version }

func (c *countingCodec) SetVersion(v *Patient, n int64) { c.setVersions.Add(1); v.Version = n }

// TestWithCodec: the table uses a supplied codec and its Versioner.
func TestWithCodec(t *testing.T) {
	e := newEnv(t)
	cc := &countingCodec{Codec: table.ReflectCodec[Patient]()}
	tb, _ := patients(t, e, table.WithCodec[Patient](cc))
	ctx := context.Background()
	p := &Patient{Tenant: "tenant-a", ID: "p1"}
	if err := tb.For("tenant-a").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.For("tenant-a").Get(ctx, sk("p1")); err != nil {
		t.Fatal(err)
	}
	if cc.marshals.Load() != 1 || cc.unmarshals.Load() != 1 || cc.setVersions.Load() != 1 || p.Version != 1 {
		t.Fatalf("codec calls: %d marshal, %d unmarshal, %d setVersion", cc.marshals.Load(), cc.unmarshals.Load(), cc.setVersions.Load())
	}
	if _, err := table.New[Patient](e.c, "x", e.rec, table.WithCodec[Doc](table.ReflectCodec[Doc]())); err == nil {
		t.Fatal("a codec of another type was accepted")
	}
}
