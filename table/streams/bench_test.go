package streams_test

import (
	"context"
	"testing"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/streams"
	"github.com/dynaseal/dynaseal/table/streams/internal/streamtest"
)

// benchRecord returns a real MODIFY record of a Patient (both images) and
// the table it belongs to.
func benchRecord(b *testing.B) (*table.Table[Patient], types.Record) {
	b.Helper()
	e := streamtest.New(b)
	tb, arn := streamtest.NewTable[Patient](b, e, streamtest.NewStore(b), ddbtypes.StreamViewTypeNewAndOldImages)
	ctx := context.Background()
	p := &Patient{ID: "p1", Name: "Ada Lovelace", SSN: "123-45-6789", Tags: []string{"a", "b", "c"}, Plan: "gold", Count: 3}
	must(b, tb.For("t-a").Put(ctx, p))
	_, err := tb.For("t-a").Update(ctx, table.SortKey(table.S("p1")), func(p *Patient) error { p.Count++; return nil })
	must(b, err)
	return tb, e.Records(b, arn, 2)[1]
}

// BenchmarkOpenRecord: streams.Open of a MODIFY record, both images
// converted, verified and decoded (keys cached).
func BenchmarkOpenRecord(b *testing.B) {
	tb, rec := benchRecord(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := streams.Open(ctx, tb, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenRecordImagesReference is the baseline of BenchmarkOpenRecord:
// table.OpenImage of the same two images, already converted.
func BenchmarkOpenRecordImagesReference(b *testing.B) {
	tb, rec := benchRecord(b)
	ctx := context.Background()
	newImg, err := streams.Image(rec.Dynamodb.NewImage)
	must(b, err)
	oldImg, err := streams.Image(rec.Dynamodb.OldImage)
	must(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tb.OpenImage(ctx, newImg); err != nil {
			b.Fatal(err)
		}
		if _, err := tb.OpenImage(ctx, oldImg); err != nil {
			b.Fatal(err)
		}
	}
}
