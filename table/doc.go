// Package table is dynaseal's DynamoDB engine: typed, tenant-scoped Put,
// Get, Delete, Update, Query, Scan, batch and transaction calls on items
// that attrcrypt seals (encrypts the marked attributes with the tenant's key
// and signs the whole item) on every write and verifies on every read.
//
//	patients, err := table.New[Patient](dynamoClient, "patients", keys)
//	s := patients.For(tenantFromAuth)        // or patients.FromContext(ctx)
//	err = s.Create(ctx, &Patient{Tenant: tenantFromAuth, ID: "p-1", Name: "Ada"})
//	p, err := s.Get(ctx, table.SortKey(table.S("p-1")))
//
// # Tenant scope
//
// Every data call goes through a Scope, whose tenant comes from the caller
// (the authenticated request), never from a stored item. A read compares the
// item's tenant attribute with the scope's tenant before any key is fetched
// (ErrWrongTenant), then fetches the key the item's header names and opens
// the item. A write of an item whose tenant field is not the scope's tenant
// fails with ErrWrongTenant; it is never rewritten.
//
// Two layouts are supported. When the partition key is the tenant attribute
// (seal:"pk,tenant"), keys carry only the sort key (SortKey) and the scope
// supplies the partition. When the tenant is a separate attribute, keys
// carry both parts, and every conditional write carries a condition on the
// tenant attribute so that one tenant can neither overwrite nor delete
// another tenant's item with the same key; queries of a shared partition
// filter on the tenant.
//
// # Updates, and plain attributes
//
// The item signature covers every signed and encrypted attribute, the table
// name, the tenant and the key reference. A server-side update expression
// cannot recompute it (nor encrypt), so Update is a read-modify-write: the
// item is read and verified, changed by the caller's function, sealed again
// and written with an UpdateItem conditioned on the version attribute (or,
// for a type without one, on the item's header, which holds a fresh random
// salt per write). Concurrent updates never lose a write; a loser gets
// ErrConflict and RetryConflicts retries it. The UpdateItem sets the covered
// attributes, the header and the signature, and touches a plain
// (seal:"plain") attribute only when the function changed it, so a TTL or a
// counter maintained outside the signed content is never overwritten. The
// scope's SetPlain, SetExpiry, RemovePlain and AddToCounter change one plain
// attribute in place, without reading the item or touching its signature.
//
// A write whose answer was lost and that the SDK resent is recognised by its
// signature and reported as success; see ErrUnknownOutcome for the one case
// that cannot be told.
//
// # Secondary indexes
//
// Declare an index with WithIndex. An index query is tenant scoped like any
// other: unless the index's partition key is the tenant attribute, it
// carries a filter on the tenant, and each returned item's tenant is checked
// before any key is fetched. An index with an ALL projection returns whole
// items, which are verified directly. KEYS_ONLY and INCLUDE projections lack
// attributes the signature covers, so the engine fetches the full items by
// primary key (BatchGet) and verifies those; such an index must project the
// tenant attribute (it is a key of the table or the index, or listed in
// INCLUDE), otherwise queries on it fail with ErrIndexProjection. Unverified
// data is never returned.
//
// # Cursors
//
// QueryPage returns an opaque cursor. It is AES-256-GCM sealed under a key
// derived with HKDF from the scope tenant's current key, the logical table
// name and the tenant, with the query's index, partition, sort condition and
// direction as associated data. It cannot be forged, does not reveal key
// values, opens only for the same tenant, table and query (ErrInvalidCursor
// otherwise), needs no secret shared between processes, survives a key
// rotation and dies with a shredded tenant.
//
// # Transactions and batches
//
// TransactWrite and TransactGet take operations built by scopes of any
// tables of this package (TxPut, TxCreate, TxUpdate, TxDelete,
// TxConditionCheck, TxGet), with the same conditions as the single-item
// calls. BatchGet and BatchWrite take any number of items, split them into
// DynamoDB's limits, retry unprocessed items with exponential backoff and
// jitter, and return what is still unprocessed with its keys in a
// *BatchError. BatchWriteItem takes no conditions, so batch puts bypass
// optimistic locking.
//
// # Logical table name
//
// The name bound into every signature defaults to the physical table name,
// so an item copied into another table fails verification. A point-in-time
// restore or an import into a new table keeps reading only through a handle
// built with WithLogicalName(original name).
//
// # Errors
//
// Errors wrap the sentinels of this package (which re-export attrcrypt's and
// tenantkeys' where they mean the same thing) and are tested with errors.Is.
// No error contains an attribute value, plaintext or key material.
package table
