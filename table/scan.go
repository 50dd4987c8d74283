package table

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Scan reads the whole table, across tenants, with in.Segments parallel
// segments. It is an admin operation (re-encryption, exports, migrations)
// and the one place where a key is fetched for the tenant named in the item
// itself, since there is no caller tenant; do not expose it to tenant
// requests. Each item is still verified under its own tenant's key. An
// error for one item is yielded as an *ItemError with a nil item and the
// scan continues; a DynamoDB error ends it. Items arrive in no particular
// order. Breaking out of the loop stops every segment.
func (t *Table[T]) Scan(ctx context.Context, in ScanInput) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		segs := max(in.Segments, 1)
		parent := ctx
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type res struct {
			v        *T
			err      error
			unsealed *Key // an unsealed item returned unverified
		}
		allow := t.allowUnsealed(in.AllowUnsealed)
		ch := make(chan res)
		var wg sync.WaitGroup
		send := func(r res) bool {
			select {
			case ch <- r:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for seg := range segs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				si := scanInput(t.name, seg, segs, in.PageSize, in.ConsistentRead)
				for {
					out, err := t.client.Scan(ctx, si)
					if err != nil {
						send(res{err: fmt.Errorf("table: scan: %w", ddbError("Scan", err))})
						return
					}
					for _, it := range out.Items {
						v, unsealed, err := t.openRead(ctx, "", it, allow)
						r := res{v: v}
						if err != nil {
							r.err = &ItemError{Key: t.keyOfItem(it), Err: err}
						} else if unsealed {
							k := t.keyOfItem(it)
							r.unsealed = &k
						}
						if !send(r) {
							return
						}
					}
					if len(out.LastEvaluatedKey) == 0 {
						return
					}
					si.ExclusiveStartKey = out.LastEvaluatedKey
				}
			}()
		}
		go func() { wg.Wait(); close(ch) }()
		defer func() {
			cancel()
			for range ch { // let every segment exit
			}
		}()
		for r := range ch {
			if r.unsealed != nil {
				allow(*r.unsealed)
			}
			if !yield(r.v, r.err) {
				return
			}
			if _, isItem := r.err.(*ItemError); r.err != nil && !isItem {
				return // a DynamoDB error ends the whole scan
			}
		}
		// A segment stopped by the caller's context may have dropped its
		// error (send gave up): never end as if the scan were complete.
		if err := parent.Err(); err != nil {
			yield(nil, fmt.Errorf("table: scan: %w", ddbError("Scan", err)))
		}
	}
}

// scanInput is the Scan of segment seg of segs (segs <= 1: the whole
// table) of table name, with a page size (0: DynamoDB's) and read
// consistency.
func scanInput(name string, seg, segs int, pageSize int32, consistent bool) *dynamodb.ScanInput {
	si := &dynamodb.ScanInput{TableName: aws.String(name)}
	if segs > 1 {
		si.Segment, si.TotalSegments = aws.Int32(int32(seg)), aws.Int32(int32(segs))
	}
	if pageSize > 0 {
		si.Limit = aws.Int32(pageSize)
	}
	if consistent {
		si.ConsistentRead = aws.Bool(true)
	}
	return si
}
