package table

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
)

// Client is the subset of *dynamodb.Client the engine calls, with the SDK's
// exact signatures, so a *dynamodb.Client satisfies it. Wrap it to add
// tracing, metrics or fault injection.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error)
}

var _ Client = (*dynamodb.Client)(nil)

// Codec converts between a Go value and a DynamoDB item. The default is the
// reflection codec (ReflectCodec, built on attributevalue); generated code
// supplies reflection-free codecs whose output is identical.
type Codec[T any] interface {
	Marshal(v *T) (map[string]types.AttributeValue, error)
	Unmarshal(item map[string]types.AttributeValue, v *T) error
}

// Versioner may be implemented by a Codec to read and set the version field
// of T directly. The engine reads the stored version from the marshalled
// item and, after a successful write, sets the new version on the caller's
// value with SetVersion; when the codec does not implement Versioner it sets
// the field through the schema's field path by reflection (one field, no
// full marshal).
type Versioner[T any] interface {
	Version(v *T) int64
	SetVersion(v *T, version int64)
}

// Key is the primary key of one item, as DynamoDB attribute values.
//
// PK may be nil when the table's partition key is the tenant attribute: the
// scope supplies it (and a non-nil PK must equal the scope's tenant). SK is
// nil when the table has no sort key. Generated repositories build keys from
// typed arguments without reflection, for example
//
//	table.Key{SK: &types.AttributeValueMemberS{Value: id}}
type Key struct {
	PK types.AttributeValue
	SK types.AttributeValue
}

// Index declares a secondary index of the table so that queries on it can be
// verified. See WithIndex.
type Index struct {
	// Name is the index name.
	Name string
	// PartitionKey and SortKey are the index's key attribute names; SortKey
	// is empty for an index without a sort key.
	PartitionKey, SortKey string
	// Projection is the index's projection type: types.ProjectionTypeAll,
	// KeysOnly or Include.
	Projection types.ProjectionType
	// Include lists the non-key attributes an INCLUDE projection carries.
	Include []string
}

// Option configures a Table. Options are not generic, so they read without
// type arguments: table.New[Patient](c, "patients", keys, table.WithKeyClass("phi")).
type Option func(*config)

type config struct {
	codec          any
	schema         *schema.Schema
	logicalName    string
	keyClass       string
	sealerConfig   []func(*attrcrypt.Config)
	batchAttempts  int
	backoffBase    time.Duration
	backoffMax     time.Duration
	sleep          func(context.Context, time.Duration) error
	indexes        []Index
	unguarded      bool
	onDrift        func(context.Context, Key, attrcrypt.OpenResult)
	tracerProvider tracing.TracerProvider
	meterProvider  metrics.MeterProvider
	migration      bool // WithMigration
}

// WithCodec replaces the reflection codec with c (for example a generated,
// reflection-free codec). New fails if c is not a Codec of the table's T.
func WithCodec[T any](c Codec[T]) Option { return func(o *config) { o.codec = c } }

// WithSchema supplies the schema instead of building it with schema.For[T]
// (generated code passes the schema it was generated from).
func WithSchema(s *schema.Schema) Option { return func(o *config) { o.schema = s } }

// WithLogicalName sets the table name bound into every item signature.
//
// The default is the physical table name. An item copied to another table
// then fails verification. Set a logical name when the physical name changes
// while the data stays the same: a point-in-time restore or an import into a
// new table keeps reading only if the new handle uses the old logical name.
func WithLogicalName(name string) Option { return func(o *config) { o.logicalName = name } }

// WithKeyClass selects the tenant key class (data classification) the table
// seals with; "" (the default) is the tenant's default class. Reads open an
// item under the class its header names (the header is signed), so a table
// can move to a new class by re-sealing its items. New refuses a class
// starting with "__" (an error matching tenantkeys.ErrInvalidName): those
// hold beacon keys (tenantkeys.BeaconClass).
func WithKeyClass(class string) Option { return func(o *config) { o.keyClass = class } }

// WithSealerConfig adjusts the attrcrypt configuration before the sealer is
// built, for example a schema-migration policy. Table, TenantAttribute and
// Actions are set by the table from its schema before f runs.
func WithSealerConfig(f func(*attrcrypt.Config)) Option {
	return func(o *config) { o.sealerConfig = append(o.sealerConfig, f) }
}

// WithBatchRetry sets how batch calls retry unprocessed items: at most
// attempts calls per chunk, with exponential backoff from base to max and
// full jitter. Defaults: 8 attempts, 25ms, 2s.
func WithBatchRetry(attempts int, base, max time.Duration) Option {
	return func(o *config) { o.batchAttempts, o.backoffBase, o.backoffMax = attempts, base, max }
}

// WithSleep replaces the function that waits between retries (tests).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *config) { o.sleep = sleep }
}

// WithIndex declares a secondary index so that Query can use it. See
// QueryInput.Index for how projections are handled. New refuses, with
// ErrInvalidIndex naming the index and attribute, a key attribute that is
// encrypted, not in the schema, not stored as a scalar, or that can be
// stored empty (a string, []byte or pointer field) without omitempty in
// its dynamodbav tag, since DynamoDB rejects empty index keys. Table.Check
// compares the declaration with the real table.
func WithIndex(ix Index) Option { return func(o *config) { o.indexes = append(o.indexes, ix) } }

// WithUnguardedBatchWrite allows BatchWrite on a table whose partition key is
// not the tenant attribute. BatchWriteItem takes no conditions, so such a
// batch could overwrite or delete another tenant's item with the same key;
// without this option BatchWrite refuses that layout (use Put, Delete or
// TransactWrite, which carry a tenant condition).
func WithUnguardedBatchWrite() Option { return func(o *config) { o.unguarded = true } }

// WithDriftHook registers f, called for every item a read opens whose
// stored crypto actions differ from the reader's schema
// (attrcrypt.OpenResult.NeedsReseal): for example while a field moves from
// signed to encrypted under WithSealerConfig's AllowPlaintextMigration. Use
// it to count or queue items for re-sealing (an Update with a no-op function
// re-seals an item under the current schema and key). k is the item's
// primary key; f must be safe for concurrent use (Scan calls it from
// several goroutines) and must not block.
func WithDriftHook(f func(ctx context.Context, k Key, r attrcrypt.OpenResult)) Option {
	return func(o *config) { o.onDrift = f }
}

// ReadOption configures a read.
type ReadOption func(*readConfig)

type readConfig struct {
	consistent bool
	unsealed   func(Key) // AllowUnsealed
}

// ConsistentRead asks for a strongly consistent read.
func ConsistentRead() ReadOption { return func(r *readConfig) { r.consistent = true } }

// WriteOption configures Put, Delete and their transactional forms.
type WriteOption func(*writeConfig)

type writeConfig struct {
	ifVersion *int64
	mustExist bool
}

// IfVersion makes a Delete (or TxDelete, TxConditionCheck) conditional on the
// stored item having version v.
func IfVersion(v int64) WriteOption { return func(w *writeConfig) { w.ifVersion = &v } }

// MustExist makes a Delete fail with ErrNotFound when no item exists.
func MustExist() WriteOption { return func(w *writeConfig) { w.mustExist = true } }

// UpdateOption configures Update.
type UpdateOption func(*updateConfig)

type updateConfig struct {
	attempts int
	base     time.Duration
	max      time.Duration
}

// RetryConflicts makes Update retry the whole read-modify-write up to
// attempts times in total when it loses a race (ErrConflict), with jittered
// exponential backoff. fn may then run more than once; it must only change
// the item it is given.
func RetryConflicts(attempts int) UpdateOption {
	return func(u *updateConfig) { u.attempts = attempts }
}

// SortCondition is a key condition on the sort key of a query. Build one
// with Equal, LessThan, LessOrEqual, GreaterThan, GreaterOrEqual, Between or
// BeginsWith; the zero value means no condition.
type SortCondition struct {
	op     string
	values []types.AttributeValue
}

// Equal matches sort key = v.
func Equal(v types.AttributeValue) SortCondition {
	return SortCondition{"=", []types.AttributeValue{v}}
}

// LessThan matches sort key < v.
func LessThan(v types.AttributeValue) SortCondition {
	return SortCondition{"<", []types.AttributeValue{v}}
}

// LessOrEqual matches sort key <= v.
func LessOrEqual(v types.AttributeValue) SortCondition {
	return SortCondition{"<=", []types.AttributeValue{v}}
}

// GreaterThan matches sort key > v.
func GreaterThan(v types.AttributeValue) SortCondition {
	return SortCondition{">", []types.AttributeValue{v}}
}

// GreaterOrEqual matches sort key >= v.
func GreaterOrEqual(v types.AttributeValue) SortCondition {
	return SortCondition{">=", []types.AttributeValue{v}}
}

// Between matches lo <= sort key <= hi.
func Between(lo, hi types.AttributeValue) SortCondition {
	return SortCondition{"between", []types.AttributeValue{lo, hi}}
}

// BeginsWith matches sort keys that start with prefix (S or B).
func BeginsWith(prefix types.AttributeValue) SortCondition {
	return SortCondition{"begins_with", []types.AttributeValue{prefix}}
}

// QueryInput describes a query within a tenant scope.
type QueryInput struct {
	// Partition is the partition key value. Leave it nil when the partition
	// key (of the table, or of Index) is the tenant attribute: the scope
	// supplies its tenant.
	Partition types.AttributeValue
	// Sort restricts the sort key; the zero value matches every item.
	Sort SortCondition
	// Index names a secondary index declared with WithIndex; "" queries the
	// table.
	//
	// Whatever the index, only verified items of the scope's tenant are
	// returned. A query whose partition key is not the tenant attribute
	// carries a filter on the tenant attribute, and every returned item's
	// tenant is compared with the scope's before any key is fetched. An
	// index with an ALL projection returns items that are verified directly.
	// With KEYS_ONLY or INCLUDE the index items cannot be verified (the
	// signature covers attributes they lack), so the engine fetches the full
	// items by primary key (BatchGet) and verifies those; such an index must
	// project the tenant attribute (as a key or in Include), otherwise the
	// query fails with ErrIndexProjection.
	Index string
	// Descending returns items in descending sort key order.
	Descending bool
	// Filter, when set (expression.Name("plan").Equal(expression.Value("gold"))
	// and the like, from aws-sdk-go-v2's feature/dynamodb/expression), is
	// DynamoDB's filter expression, ANDed with the engine's tenant filter.
	// It may name only top-level signed or plain attributes of the schema
	// (and, for a KEYS_ONLY or INCLUDE index, projected ones); anything else,
	// an encrypted attribute above all, fails with ErrInvalidFilter before
	// any request. DynamoDB evaluates the filter on stored, not yet verified
	// attributes: a filter can hide items whose stored values were altered,
	// never admit one, since every returned item is verified. Like DynamoDB's,
	// a filter applies after PageSize (Limit); DynamoDB refuses filters on
	// the key attributes being queried (ErrInvalidRequest).
	Filter expression.ConditionBuilder
	// PageSize is the DynamoDB Limit per page (0: DynamoDB's default, up to
	// 1 MB). With a tenant filter a page may hold fewer items.
	PageSize int32
	// ConsistentRead asks for strongly consistent reads (table queries only).
	ConsistentRead bool
	// Cursor resumes after the page that returned it (QueryPage only).
	Cursor string
	// AllowUnsealed, on a handle built WithMigration, returns unsealed
	// items (never verified) after calling it with each one's key, on the
	// caller's goroutine; without it they fail with ErrNotSealed. See
	// AllowUnsealed.
	AllowUnsealed func(Key)
}

// Page is one page of a query.
type Page[T any] struct {
	// Items are the verified, opened items of the page.
	Items []*T
	// Cursor resumes the query after this page; "" when there is no more.
	// It is opaque, encrypted and authenticated with a key derived from the
	// scope's tenant key, and bound to the tenant, the logical table and the
	// query; any other use fails with ErrInvalidCursor.
	Cursor string
}

// ScanInput describes an admin scan.
type ScanInput struct {
	// Segments is the number of parallel scan segments (0 or 1: serial).
	Segments int
	// PageSize is the DynamoDB Limit per page.
	PageSize int32
	// ConsistentRead asks for strongly consistent reads.
	ConsistentRead bool
	// AllowUnsealed, on a handle built WithMigration, yields unsealed
	// items (never verified) after calling it with each one's key, on the
	// caller's goroutine; without it they are *ItemError with ErrNotSealed.
	AllowUnsealed func(Key)
}

// TxOp is one write of a transaction, built by a scope's TxPut, TxCreate,
// TxUpdate, TxDelete or TxConditionCheck. Ops of different tables (and item
// types) combine in one TransactWrite.
type TxOp interface {
	buildTx(ctx context.Context) (txBuilt, error)
}

// TxGetOp is one read of a transaction, built by a scope's TxGet.
type TxGetOp interface {
	txGetItem() (types.TransactGetItem, error)
	txOpen(ctx context.Context, item map[string]types.AttributeValue) error
}
