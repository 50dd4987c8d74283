package streams_test

import (
	"context"
	"errors"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/streams"
)

// A consumer of a table's stream: every record is opened with both images
// verified under their tenant's key.
func ExampleOpen() {
	var (
		ctx      = context.Background()
		client   *dynamodbstreams.Client // dynamodbstreams.NewFromConfig(cfg)
		patients *table.Table[Patient]   // table.New[Patient](db, "patients", keys)
		iterator *string                 // from GetShardIterator
	)
	out, err := client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iterator})
	if err != nil {
		log.Fatal(err)
	}
	for _, rec := range out.Records {
		ch, err := streams.Open(ctx, patients, rec)
		switch {
		case err == nil:
			if ch.EventName == streams.Modify {
				log.Printf("plan %s -> %s", ch.Old.Plan, ch.New.Plan)
			}
		case errors.Is(err, streams.ErrKeysOnly):
			log.Printf("%s of an item, keys only", ch.EventName)
		case errors.Is(err, table.ErrKeyShredded):
			log.Printf("%s of a shredded tenant's item", ch.EventName)
		default:
			log.Printf("record %s refused: %v", ch.EventID, err) // never applied
		}
	}
}
