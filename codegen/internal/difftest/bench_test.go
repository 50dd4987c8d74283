package difftest

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
)

// reference is DESIGN.md's benchmark item.
func reference() *Reference {
	return &Reference{
		Tenant:  "tenant-0042",
		ID:      "3f2b8c1e-5d4a-4e7b-9c2d-1a6f8e0b7c35",
		Name:    strings.Repeat("n", 24),
		Email:   strings.Repeat("e", 22) + "@example.o",
		SSN:     "123-45-6789",
		Notes:   strings.Repeat("lorem ipsum ", 50),
		Plan:    "premium1",
		Created: 1732233600,
		Score:   12345,
		Tags:    []string{"vip", "beta", "eu"},
	}
}

var sinkItem map[string]types.AttributeValue

func BenchmarkMarshalMapReference(b *testing.B) {
	v := reference()
	b.ReportAllocs()
	for b.Loop() {
		m, err := attributevalue.MarshalMap(v)
		if err != nil {
			b.Fatal(err)
		}
		sinkItem = m
	}
}

func BenchmarkGeneratedMarshalReference(b *testing.B) {
	v := reference()
	var c ReferenceCodec
	b.ReportAllocs()
	for b.Loop() {
		m, err := c.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		sinkItem = m
	}
}

func BenchmarkUnmarshalMapReference(b *testing.B) {
	item, err := attributevalue.MarshalMap(reference())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var v Reference
		if err := attributevalue.UnmarshalMap(item, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGeneratedUnmarshalReference(b *testing.B) {
	item, err := attributevalue.MarshalMap(reference())
	if err != nil {
		b.Fatal(err)
	}
	var c ReferenceCodec
	b.ReportAllocs()
	for b.Loop() {
		var v Reference
		if err := c.Unmarshal(item, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func sealerAndKey(b *testing.B) (*attrcrypt.Sealer, attrcrypt.Key) {
	s, err := schema.For[Reference]()
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := attrcrypt.NewSealer(attrcrypt.Config{Table: "bench", TenantAttribute: s.Tenant, Actions: s.Actions()})
	if err != nil {
		b.Fatal(err)
	}
	key := attrcrypt.Key{Ref: attrcrypt.KeyRef{Tenant: "tenant-0042", Version: 1}}
	for i := range key.Material {
		key.Material[i] = byte(i)
	}
	return sealer, key
}

// BenchmarkSealOnlyReference is attrcrypt's Seal of the already marshaled
// reference item: the share of BenchmarkRepoSealReference that is not the
// codec's.
func BenchmarkSealOnlyReference(b *testing.B) {
	sealer, key := sealerAndKey(b)
	item, err := ReferenceCodec{}.Marshal(reference())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sealed, err := sealer.Seal(item, key)
		if err != nil {
			b.Fatal(err)
		}
		sinkItem = sealed
	}
}

// BenchmarkRepoSealReference is the write path below DynamoDB: the
// generated marshal of the reference item plus attrcrypt's Seal.
func BenchmarkRepoSealReference(b *testing.B) {
	sealer, key := sealerAndKey(b)
	v := reference()
	var c ReferenceCodec
	b.ReportAllocs()
	for b.Loop() {
		item, err := c.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		sealed, err := sealer.Seal(item, key)
		if err != nil {
			b.Fatal(err)
		}
		sinkItem = sealed
	}
}
