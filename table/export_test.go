package table

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table/job"
)

// SealForTest runs the write path of Put up to the DynamoDB call: marshal,
// tenant check, version, key, seal, size check.
func SealForTest[T any](ctx context.Context, s Scope[T], v *T) (map[string]types.AttributeValue, error) {
	sl, err := s.seal(ctx, v, -1)
	return sl.item, err
}

// OpenForTest runs the read path of Get after the DynamoDB call: tenant
// check, key reference, key, open, unmarshal.
func OpenForTest[T any](ctx context.Context, s Scope[T], item map[string]types.AttributeValue) (*T, error) {
	return s.t.open(ctx, s.tenant, item)
}

// MigrateItemForTest runs the Migrate job's step for one stored item.
func MigrateItemForTest[T any](ctx context.Context, t *Table[T], item map[string]types.AttributeValue) (MigrateStats, error) {
	c := job.Counts{}
	_, err := t.migrateItem(ctx, item, c)
	return MigrateStats{Sealed: c[cSealed], AlreadySealed: c[cAlreadySealed], Gone: c[cGone]}, err
}
