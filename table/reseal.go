package table

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ResealStats reports what a Reseal pass did. Every item scanned is counted
// exactly once: as current, as resealed, or in Failed with its key.
type ResealStats struct {
	// Scanned is the number of items read.
	Scanned int
	// Current items were already sealed under their tenant's current key
	// version and class, and were not written.
	Current int
	// Resealed items were verified and written back under the current key.
	Resealed int
	// Failed lists the items that could not be resealed (tampered, key
	// shredded, a conflict that outlasted the retries...), with their keys.
	Failed []*ItemError
}

// Reseal is the re-encryption pass that follows a key rotation: it scans the
// whole table and rewrites every item sealed under an older key version (or
// another key class) than its tenant's current key for this table, so old
// versions can be retired. Like Scan it is an admin operation that reads
// across tenants.
//
// Each stale item is rewritten with Update in its own tenant's scope: it is
// read consistently and verified under the key it names, then sealed under
// the current key and written with the optimistic-locking condition, so a
// concurrent application write is never lost (a conflict is retried up to
// three times, then reported in Failed). Items that fail verification are
// reported, never rewritten. The header is read without any cryptography to
// decide, so a pass over an up-to-date table costs one Scan and one cached
// CurrentKey lookup per item.
//
// Run it again after it returns Failed entries: it is idempotent.
// in.Segments is ignored (the pass is serial); in.PageSize and
// in.ConsistentRead apply to the scan.
func (t *Table[T]) Reseal(ctx context.Context, in ScanInput) (ResealStats, error) {
	var st ResealStats
	si := &dynamodb.ScanInput{TableName: aws.String(t.name)}
	if in.PageSize > 0 {
		si.Limit = aws.Int32(in.PageSize)
	}
	if in.ConsistentRead {
		si.ConsistentRead = aws.Bool(true)
	}
	for {
		out, err := t.client.Scan(ctx, si)
		if err != nil {
			return st, fmt.Errorf("table: reseal scan: %w", ddbError("Scan", err))
		}
		for _, item := range out.Items {
			st.Scanned++
			stale, tenant, err := t.stale(ctx, item)
			switch {
			case err != nil:
				st.Failed = append(st.Failed, &ItemError{Key: t.keyOfItem(item), Err: err})
			case !stale:
				st.Current++
			default:
				_, err := t.For(tenant).Update(ctx, t.keyOfItem(item), func(*T) error { return nil }, RetryConflicts(3))
				if err != nil {
					st.Failed = append(st.Failed, &ItemError{Key: t.keyOfItem(item), Err: err})
					continue
				}
				st.Resealed++
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return st, nil
		}
		si.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// stale reports whether item names an older key than its tenant's current
// key for this table, reading only the header.
func (t *Table[T]) stale(ctx context.Context, item map[string]types.AttributeValue) (bool, string, error) {
	tv, ok := item[t.schema.Tenant].(*types.AttributeValueMemberS)
	if !ok || tv.Value == "" {
		return false, "", fmt.Errorf("table: stored item has no tenant attribute %s: %w", t.schema.Tenant, ErrTampered)
	}
	ref, err := t.sealer.KeyRef(item)
	if err != nil {
		return false, "", fmt.Errorf("table: %w", err)
	}
	cur, err := t.keys.CurrentKey(ctx, tv.Value, t.class)
	cur.Zero()
	if err != nil {
		return false, "", fmt.Errorf("table: tenant key: %w", err)
	}
	return ref.Class != cur.Ref.Class || ref.Version < cur.Ref.Version, tv.Value, nil
}
