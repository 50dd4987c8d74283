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
// the item. A write of an item whose tenant field is empty fills it with
// the scope's tenant (in the item written and in the caller's struct); a
// write of an item naming another tenant fails with ErrWrongTenant, and is
// never rewritten.
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
// Declare an index with WithIndex. New refuses (ErrInvalidIndex) an index
// keyed on an encrypted attribute, or on one that can be stored empty (a
// string, []byte or pointer) without omitempty in its dynamodbav tag,
// since DynamoDB rejects empty index keys. An index query is tenant scoped like any
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
// # Searchable encryption
//
// A field tagged seal:"encrypt,beacon" (with lower, trim, beacon=BITS,
// index=NAME; see the schema package) gets a beacon: on every write (Put,
// Create, Update, BatchWrite, the Tx operations, ReadModifyWrite) the
// engine computes it from the field's plaintext and stores it as the
// signed string attribute NAME#b = tenant U+001F hex, and likewise each
// compound beacon; a value the item already holds under those names is
// discarded, and a beacon whose source is absent is removed. Beacons are
// covered by the signature, so an edited, swapped or copied beacon makes
// the item ErrTampered. The indexes the schema declares are registered as
// if by WithIndex (projection ALL); a WithIndex of the same name must
// agree with them, and Check compares them with the table.
//
//	for c, err := range s.Find(ctx, "email", table.S("Ada@Example.com")) { ... }
//	page, err := s.FindPage(ctx, "email", table.S("ada@example.com"), table.QueryInput{PageSize: 20})
//	for c, err := range s.FindCompound(ctx, "status_email", []types.AttributeValue{table.S("active")}) { ... }
//
// Find queries the first declared index keyed on the field's beacon and
// returns, verified and decrypted, exactly the items whose field
// normalises to the searched value: items that only share the truncated
// beacon are dropped after verification and counted
// (MetricBeaconCollisions), so a page may hold fewer items than PageSize.
// FindCompound takes the leading parts of a compound: all of them for an
// index keyed by the compound, or a prefix (begins_with, ending at a part
// boundary) for an index whose partition key is the tenant and sort key
// the compound; every given part is compared after verification.
// BeaconValue and CompoundValue return the stored values for queries of
// your own.
//
// Keys. Beacons are computed under the tenant's beacon key, version 1 of
// the key class tenantkeys.BeaconClass(class), which is never rotated:
// rotating the data key changes no beacon. A write takes it with
// CurrentKey (creating it on first use when the provider does) and refuses
// any other version with ErrBeaconKey, except for a tenant shredded and
// reopened, whose version 1 is shredded and whose new beacon key indexes
// what is written after the reopen. A search takes version 1 by reference
// and so never creates a key: a tenant that never had one finds nothing,
// and a shredded tenant's search fails with ErrKeyShredded without
// returning any item. The per-table, per-field keys derived from a beacon
// key are cached in the Table (bounded), so a beacon costs one HMAC.
// WithKeyClass refuses class names starting with "__", which are reserved
// for beacon keys.
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
// calls. A cancelled TransactWrite is a *TxError giving each failed op's
// cause (ErrConditionFailed, ErrConflict, ErrWrongTenant, ErrNotFound,
// ErrAlreadyExists), told apart from the stored item DynamoDB returns with
// the cancellation. BatchGet and BatchWrite take any number of items, split them into
// DynamoDB's limits, retry unprocessed items with exponential backoff and
// jitter, and return what is still unprocessed with its keys in a
// *BatchError. BatchWriteItem takes no conditions, so batch puts bypass
// optimistic locking.
//
// ReadModifyWrite is a read-modify-write across items: fn reads items
// through Scope.ReadIn and queues writes with TxBuilder.Write; the commit
// is one transaction conditioned on every item read being unchanged (its
// version, or header; a missing item still missing), retried on
// ErrConflict. It replaces a hand-built Get, TxPut at the read version,
// TxDelete, TxCreate and retry loop.
//
// # Unique values
//
// A field tagged seal:"unique" (with lower and trim for e-mail addresses)
// is unique per tenant. Every write of such a type keeps, in the same
// transaction as the item, a claim item named by a keyed MAC of the
// normalised value under the tenant's beacon key (never the value itself):
// Create puts the claims, Put, Update and Delete read the stored item
// (strongly consistent) and move or release the claims of the values that
// change. Concurrent writes of one value give exactly one success and
// ErrUniqueTaken (which matches ErrAlreadyExists, and names the attribute
// in a *UniqueError) for the rest. GetUnique finds the item holding a
// value with one strongly consistent read of its claim and one of the item,
// and returns it only if the claim's MAC, the item's signature and tenant,
// and the normalised value all check. Claim items are invisible to every
// other read (IsClaimItem); BatchWrite refuses such types
// (ErrUniqueUnsupported). The claim layout is in unique.go.
//
// # Observability
//
// WithTracerProvider and WithMeterProvider take smithy-go's interfaces,
// which aws-sdk-go-v2 users already adapt to OpenTelemetry: a span per
// tenant key load (SpanKeyLoad) and counters of conflicts, retries and
// tamper events (MetricConflicts, MetricRetries, MetricTampered). The
// tenantkeys options of the same names count cache hits and misses and
// span each key unwrap (the KMS call). No attribute value or key byte is
// ever a span property.
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
// No error contains an attribute value, plaintext or key material: a failed
// DynamoDB call is a *DynamoDBError, which prints the operation, error code,
// HTTP status and request id but never DynamoDB's or the SDK's message (a
// validation message can quote attribute values), and keeps the SDK error in
// the chain for errors.As; the reflection codec's decode errors name the
// attribute and the Go type (ErrDecode), never the value.
//
// # How a failed read is classified
//
// Whatever the stored item's own bytes cause is ErrTampered, with an
// *attrcrypt.TamperError giving the reason. A key-lifecycle sentinel
// (ErrKeyShredded, ErrKeyRetired, ErrKeyDisabled) means that the key a
// genuine item would name really is in that state, never that the header
// was edited. The table knows the caller's tenant (the scope's) and its key
// class (WithKeyClass); a read asks the key provider for keys by reference
// only, never for a current key, so it never creates one.
//
//	failure                                                  error
//	---------------------------------------------------------------------------------------
//	tenant attribute is not the scope's tenant               ErrNotFound and ErrWrongTenant
//	                                                         (no key of that tenant fetched)
//	tenant attribute missing or not a string                 ErrTampered
//	header missing, truncated, unparsable                    ErrTampered (header)
//	header names a key the tenant never had: a version       ErrTampered (commitment)
//	  above the newest or 0, a class without keys, an
//	  invalid class or tenant name, or the item was moved
//	  into the partition of a tenant without keys
//	header names another live version, or another class     ErrTampered (commitment)
//	  whose key exists
//	header names a shredded, retired or disabled version,    ErrTampered (commitment)
//	  or any failing key of another class, but commits to
//	  a live key of the tenant in the table's class
//	tenant shredded, or the item's version was destroyed     ErrKeyShredded
//	  by Shred before ReopenAfterShred
//	item sealed under a retired version                      ErrKeyRetired
//	the tenant's key (of the table's class) is disabled      ErrKeyDisabled
//	key store or KMS unreachable, throttled, refusing,       tenantkeys' sentinel (ErrKeyStoreUnavailable,
//	  or a key record that fails authentication               ErrKMSUnavailable, ErrAccessDenied, ErrKeyCorrupt...)
//	signature, commitment, attribute set, ciphertext         ErrTampered (signature, commitment,
//	                                                         attribute-set, attribute)
//	a verified value does not fit the reader's Go type       ErrDecode
//	DynamoDB call failed                                     ErrUnavailable (throttled, 5xx, no answer,
//	                                                         timeout), ErrNoTable, ErrInvalidRequest,
//	                                                         ErrAccessDenied, ErrConflict, ErrRequestFailed,
//	                                                         or context.Canceled
//
// So reading an item never answers ErrKeyMissing: key versions are never lost (Shred
// answers ErrKeyShredded), so an item naming a key its tenant does not have
// was edited. A key store that lacks the keys of tenants whose items exist
// (a misconfiguration: the wrong key table or region) therefore makes every
// such item read as tampered with reason commitment; writes still answer
// ErrKeyMissing there.
//
// To tell an edited key reference from a key genuinely in a failing state,
// the read path (on that error only) locates the tenant's newest version of
// the table's class with an exponential then binary search over Key, and
// checks the header's key commitment (attrcrypt.Sealer.CommitsTo) against
// at most 16 live versions, newest first. A tenant whose every version is
// shredded costs one extra lookup. The bound is the one residual: an item
// sealed under a live version more than 16 live versions below the newest,
// whose header is edited to name a shredded, retired or disabled version,
// reads as that key state instead of ErrTampered (its data stays
// unreadable either way).
//
// # Shared partitions
//
// When the tenant is not the partition key, a read of another tenant's item
// matches ErrNotFound as well as ErrWrongTenant, so an application that
// answers ErrNotFound with a 404 tells a tenant nothing about another
// tenant's keys, while monitoring can still count ErrWrongTenant. BatchGet
// and TransactGet report such a key as a failed item (BatchError.Failed, or
// the joined error) whose error matches ErrNotFound: treat those entries as
// a missing item (a nil result) to conceal existence there too. Query
// iterators never yield another tenant's item, not even as an error, and
// QueryPage keeps reading past other tenants' items until its page is full
// or the query is exhausted, so a page with a cursor always holds PageSize
// items. The bound is 8 DynamoDB calls per page (Limit doubling from
// PageSize, so 255×PageSize evaluated items, at most 8 MB): past that many
// other items in a row it returns a short or empty page with a cursor,
// which reveals only that at least that many other items lie there.
package table
