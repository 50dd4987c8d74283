package table

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

var errNotImplemented = errors.New("table: not implemented yet")

// Table is a handle on one DynamoDB table holding items of type T. It is
// safe for concurrent use. Every data operation goes through a tenant Scope
// (For, FromContext); only Scan, an admin operation, reads across tenants.
type Table[T any] struct {
	client     Client
	name       string
	logical    string
	class      string
	keys       tenantkeys.Provider
	schema     *schema.Schema
	codec      Codec[T]
	sealer     *attrcrypt.Sealer
	cfg        config
	indexes    map[string]Index
	pkIsTenant bool
}

// New returns a handle on the DynamoDB table name holding items of type T.
// It builds T's schema with schema.For[T] (or takes WithSchema), the
// reflection codec (or WithCodec) and the attrcrypt sealer bound to the
// logical table name (the physical name unless WithLogicalName).
func New[T any](client Client, name string, keys tenantkeys.Provider, opts ...Option) (*Table[T], error) {
	return nil, errNotImplemented
}

// Name returns the physical table name.
func (t *Table[T]) Name() string { return t.name }

// LogicalName returns the table name bound into every signature.
func (t *Table[T]) LogicalName() string { return t.logical }

// Schema returns the table's schema.
func (t *Table[T]) Schema() *schema.Schema { return t.schema }

// Scope is a Table restricted to one tenant. The tenant comes from the
// caller (an authenticated request), never from a stored item: every read
// checks the item's tenant attribute against it before any key is fetched,
// and every write of an item naming another tenant fails with
// ErrWrongTenant (it is never rewritten). A Scope is a small value; make one
// per request.
type Scope[T any] struct {
	t      *Table[T]
	tenant string
}

// For returns the scope of tenant. An empty tenant gives a scope whose every
// call fails with ErrNoTenant.
func (t *Table[T]) For(tenant string) Scope[T] { return Scope[T]{t: t, tenant: tenant} }

type tenantCtxKey struct{}

// WithTenant returns a context carrying tenant, for middleware that knows
// the tenant from the authenticated request (for example a JWT claim).
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantCtxKey{}, tenant)
}

// TenantFromContext returns the tenant WithTenant stored in ctx.
func TenantFromContext(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(tenantCtxKey{}).(string)
	return s, ok && s != ""
}

// FromContext returns the scope of the tenant stored in ctx by WithTenant,
// or ErrNoTenant.
func (t *Table[T]) FromContext(ctx context.Context) (Scope[T], error) {
	tenant, ok := TenantFromContext(ctx)
	if !ok {
		return Scope[T]{}, ErrNoTenant
	}
	return t.For(tenant), nil
}

// Tenant returns the scope's tenant.
func (s Scope[T]) Tenant() string { return s.tenant }

// Table returns the scope's table.
func (s Scope[T]) Table() *Table[T] { return s.t }

// Get reads the item with key k. A missing item is ErrNotFound; an item of
// another tenant is ErrWrongTenant (and no key of that tenant is fetched);
// an item that fails verification is ErrTampered.
func (s Scope[T]) Get(ctx context.Context, k Key, opts ...ReadOption) (*T, error) {
	return nil, errNotImplemented
}

// Create writes v, which must not exist yet (ErrAlreadyExists otherwise).
// With a version attribute, v is written with version 1 and v's version
// field is set to 1 on success.
func (s Scope[T]) Create(ctx context.Context, v *T) error { return errNotImplemented }

// Put writes v. Without a version attribute it overwrites any item of the
// scope's tenant with the same key. With one, it is an optimistic-locking
// write: v's version 0 means "new item" (condition: none exists), version n
// means "replace version n" (condition: stored version = n); the item is
// written with version n+1, v's field is set to n+1 on success, and a lost
// race is ErrConflict. An item whose tenant field is not the scope's tenant
// is ErrWrongTenant; over 400 KB after sealing, ErrItemTooLarge (before any
// call).
func (s Scope[T]) Put(ctx context.Context, v *T) error { return errNotImplemented }

// Delete deletes the item with key k. It is a no-op for a missing item
// unless MustExist (then ErrNotFound); IfVersion makes it conditional
// (ErrConflict when the stored version differs). When the partition key is
// not the tenant attribute, the delete carries a condition on the tenant, so
// it never removes another tenant's item (ErrWrongTenant).
func (s Scope[T]) Delete(ctx context.Context, k Key, opts ...WriteOption) error {
	return errNotImplemented
}

// Update is a read-modify-write of the whole item with key k: it reads the
// item (strongly consistent), verifies and opens it, calls fn on it, then
// seals and writes the whole item back on condition that it did not change
// in between (its version, or when the schema has none, its header, which
// is unique per write). A lost race is ErrConflict; RetryConflicts retries.
// fn must not change the primary key (ErrKeyChanged) or the tenant
// (ErrWrongTenant); an error from fn aborts the update and is returned.
//
// There is deliberately no partial UpdateItem: the signature covers every
// signed and encrypted attribute of the item, so changing one attribute in
// place would invalidate it, and a server-side update expression cannot
// recompute it. Every update therefore rewrites the whole sealed item.
func (s Scope[T]) Update(ctx context.Context, k Key, fn func(*T) error, opts ...UpdateOption) (*T, error) {
	return nil, errNotImplemented
}

// Query returns the items of one partition (of the table or an index),
// verified and opened, as an iterator over all pages. An error for one item
// (tampered, wrong tenant) is yielded with a nil item as an *ItemError and
// iteration continues if the caller continues; a DynamoDB error is yielded
// last. in.Cursor starts after a page returned by QueryPage.
func (s Scope[T]) Query(ctx context.Context, in QueryInput) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) { yield(nil, errNotImplemented) }
}

// QueryPage returns one page of a query and the cursor of the next page.
// Any item that fails verification fails the page (as *ItemError).
func (s Scope[T]) QueryPage(ctx context.Context, in QueryInput) (Page[T], error) {
	return Page[T]{}, errNotImplemented
}

// BatchGet reads the items with keys, any number of them, in chunks of 100,
// retrying unprocessed keys with backoff. The result is aligned with keys:
// result[i] is nil when keys[i] has no item. Keys still unprocessed after the
// last attempt, and items that fail on their own (tampered, wrong tenant),
// are reported in a *BatchError; the items that did open are still returned.
func (s Scope[T]) BatchGet(ctx context.Context, keys []Key, opts ...ReadOption) ([]*T, error) {
	return nil, errNotImplemented
}

// BatchWrite puts and deletes any number of items, in chunks of 25,
// retrying unprocessed writes with backoff. BatchWriteItem takes no
// conditions: puts are unconditional (no optimistic locking; the version
// written is the item's version + 1) — use Put or TransactWrite when that
// matters. Writes still unprocessed after the last attempt are returned with
// their keys in a *BatchError, never dropped. On a table whose partition key
// is not the tenant attribute, BatchWrite needs WithUnguardedBatchWrite.
func (s Scope[T]) BatchWrite(ctx context.Context, puts []*T, deletes []Key) error {
	return errNotImplemented
}

// Scan reads the whole table, across tenants, with in.Segments parallel
// segments. It is an admin operation (re-encryption, exports, migrations):
// it is the one place where a key is fetched by the tenant named in the item
// itself, since there is no caller tenant. Each item is still verified under
// its own tenant's key. An error for one item is yielded as an *ItemError
// with a nil item and the scan continues; a DynamoDB error ends it.
func (t *Table[T]) Scan(ctx context.Context, in ScanInput) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) { yield(nil, errNotImplemented) }
}

// TxPut is Put as one write of a transaction (see TransactWrite).
func (s Scope[T]) TxPut(v *T) TxOp { return notImplTx{} }

// TxCreate is Create as one write of a transaction; a failure of its
// condition cancels the transaction with ErrAlreadyExists.
func (s Scope[T]) TxCreate(v *T) TxOp { return notImplTx{} }

// TxDelete is Delete as one write of a transaction.
func (s Scope[T]) TxDelete(k Key, opts ...WriteOption) TxOp { return notImplTx{} }

// TxUpdate is Update as one write of a transaction: when TransactWrite runs,
// the item is read and opened, fn changes it, and it is written back on
// condition that its version (or header) is unchanged.
func (s Scope[T]) TxUpdate(k Key, fn func(*T) error) TxOp { return notImplTx{} }

// TxConditionCheck requires, for the transaction to succeed, that the item
// with key k exists, belongs to the scope's tenant and (with IfVersion) has
// the given version.
func (s Scope[T]) TxConditionCheck(k Key, opts ...WriteOption) TxOp { return notImplTx{} }

// TxGet reads the item with key k as part of TransactGet; after TransactGet
// returns, the result holds the opened item (or nil if none exists).
func (s Scope[T]) TxGet(k Key) *TxRead[T] { return &TxRead[T]{} }

// TxRead is one read of a TransactGet and, after it, its result.
type TxRead[T any] struct {
	s   Scope[T]
	key Key
	// Item is the opened item, or nil when none exists.
	Item *T
}

func (r *TxRead[T]) txGetItem() (types.TransactGetItem, error) {
	return types.TransactGetItem{}, errNotImplemented
}

func (r *TxRead[T]) txOpen(ctx context.Context, item map[string]types.AttributeValue) error {
	return errNotImplemented
}

// TransactWrite runs ops, of one or several tables of this library, as one
// DynamoDB transaction (at most 100 ops). A cancelled transaction is
// ErrConflict (a version or tenant condition failed) or ErrAlreadyExists (a
// TxCreate's item exists), wrapped in a *TxError naming the failed ops.
func TransactWrite(ctx context.Context, client Client, ops ...TxOp) error {
	return errNotImplemented
}

// TransactGet reads the items of reads, of one or several tables, as one
// DynamoDB transaction, and verifies and opens each into its TxRead.
func TransactGet(ctx context.Context, client Client, reads ...TxGetOp) error {
	return errNotImplemented
}

// TxError reports a cancelled transaction: Reasons[i] is DynamoDB's
// cancellation code for ops[i] ("" when that op was fine).
type TxError struct {
	Reasons []string
	err     error
}

func (e *TxError) Error() string { return "table: transaction cancelled: " + e.err.Error() }

// Unwrap returns ErrConflict, ErrAlreadyExists or the underlying error.
func (e *TxError) Unwrap() error { return e.err }

type txBuilt struct {
	item      types.TransactWriteItem
	create    bool
	onSuccess func()
}

type notImplTx struct{}

func (notImplTx) buildTx(context.Context) (txBuilt, error) { return txBuilt{}, errNotImplemented }

// KeyOf builds a Key from Go values with attributevalue.Marshal (the
// reflection path). Pass nil for pk when the scope supplies the partition
// key (the partition key is the tenant), and nil for sk when the table has
// no sort key.
func KeyOf(pk, sk any) (Key, error) {
	return Key{}, errNotImplemented
}

var _ = fmt.Sprintf
var _ = time.Second
