package attrcrypt

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// refStruct is the reference item as a Go struct, for the attributevalue
// baseline.
type refStruct struct {
	Tenant  string   `dynamodbav:"tenant"`
	ID      string   `dynamodbav:"id"`
	Name    string   `dynamodbav:"name"`
	Email   string   `dynamodbav:"email"`
	SSN     string   `dynamodbav:"ssn"`
	Notes   string   `dynamodbav:"notes"`
	Plan    string   `dynamodbav:"plan"`
	Created int64    `dynamodbav:"created"`
	Score   int64    `dynamodbav:"score"`
	Tags    []string `dynamodbav:"tags,stringset"`
}

func refValue() refStruct {
	return refStruct{
		Tenant: refTenant, ID: refID,
		Name: "Ada Lovelace-Byron, Cnt.", Email: "ada.lovelace@analyticalengine.uk", SSN: "123-45-6789",
		Notes: strings.Repeat("Patient notes. ", 40), Plan: "business",
		Created: 1763800000, Score: 12345, Tags: []string{"alpha", "beta", "gamma"},
	}
}

func BenchmarkSealReference(b *testing.B) {
	s := refSealer(b)
	key := testKey(refTenant, "", 1)
	item := refItem()
	sealed, err := s.Seal(item, key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(item, key); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ItemSize(sealed)), "stored-bytes")
	b.ReportMetric(float64(ItemSize(sealed)-ItemSize(item)), "overhead-bytes")
}

func BenchmarkOpenReference(b *testing.B) {
	s := refSealer(b)
	key := testKey(refTenant, "", 1)
	item := refItem()
	sealed, err := s.Seal(item, key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Open(sealed, key); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ItemSize(sealed)), "stored-bytes")
}

func BenchmarkMarshalMapReference(b *testing.B) {
	v := refValue()
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := attributevalue.MarshalMap(v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ItemSize(m)), "stored-bytes")
}

func BenchmarkUnmarshalMapReference(b *testing.B) {
	m, err := attributevalue.MarshalMap(refValue())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var v refStruct
		if err := attributevalue.UnmarshalMap(m, &v); err != nil {
			b.Fatal(err)
		}
	}
}
