package table

import (
	"errors"
	"fmt"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Sentinel errors; test with errors.Is. No error of this package contains an
// attribute value, plaintext or key material.
var (
	// ErrNotFound: no item has the key.
	ErrNotFound = errors.New("table: item not found")
	// ErrTampered: the item failed verification. It is attrcrypt.ErrTampered
	// itself; errors.As with *attrcrypt.TamperError gives the reason.
	ErrTampered = attrcrypt.ErrTampered
	// ErrWrongTenant: the item belongs to another tenant than the scope's,
	// or an item to write names another tenant than the scope's. A read of
	// another tenant's item matches ErrNotFound too, so that mapping
	// not-found to a 404 conceals whether the key exists.
	ErrWrongTenant = errors.New("table: item belongs to another tenant")
	// ErrKeyMissing: no key exists for the tenant (tenantkeys.ErrKeyNotFound).
	// Writes answer it (a provider without create-on-first-use); reads never
	// do for a stored item: one naming a key its tenant does not have is ErrTampered (see
	// the package doc's decision table).
	ErrKeyMissing = tenantkeys.ErrKeyNotFound
	// ErrKeyShredded: the tenant's keys were destroyed; its items can never
	// be read again (tenantkeys.ErrKeyShredded). Not a tamper error: a read
	// answers it only when the key the item genuinely names was shredded.
	ErrKeyShredded = tenantkeys.ErrKeyShredded
	// ErrKeyRetired: the item was sealed under a key version an admin
	// retired (tenantkeys.ErrKeyRetired). Not a tamper error.
	ErrKeyRetired = tenantkeys.ErrKeyRetired
	// ErrKeyDisabled: the tenant key is disabled (tenantkeys.ErrKeyDisabled).
	ErrKeyDisabled = tenantkeys.ErrKeyDisabled
	// ErrConflict: a conditional write lost to a concurrent write (the
	// version or the item changed since it was read).
	ErrConflict = errors.New("table: concurrent modification")
	// ErrNotSealed: the stored item has neither dynaseal's header nor its
	// signature (attrcrypt.ErrNotSealed): a row of a plaintext table not
	// yet migrated, or a sealed row whose header and signature were both
	// stripped. It does not match ErrTampered. Reads never return such an
	// item's data, except under WithMigration with a per-call opt-in
	// (AllowUnsealed), which marks it unverified.
	ErrNotSealed = attrcrypt.ErrNotSealed
	// ErrSchemaMismatch: the stored item's recorded actions disagree with
	// the reader's schema beyond the migration policy (attrcrypt.ErrSchemaMismatch).
	ErrSchemaMismatch = attrcrypt.ErrSchemaMismatch
	// ErrConditionFailed: a TxConditionCheck's condition failed; the
	// error also matches its cause (ErrNotFound, ErrWrongTenant or
	// ErrConflict).
	ErrConditionFailed = errors.New("table: transaction condition check failed")
	// ErrAlreadyExists: Create found an item with the same key.
	ErrAlreadyExists = errors.New("table: item already exists")
	// ErrInvalidCursor: a query cursor failed authentication, or belongs to
	// another tenant, table or query.
	ErrInvalidCursor = errors.New("table: invalid cursor")
	// ErrItemTooLarge: the sealed item exceeds DynamoDB's 400 KB item limit;
	// nothing was sent.
	ErrItemTooLarge = errors.New("table: sealed item exceeds DynamoDB's 400 KB limit")
	// ErrNoTenant: the scope has no tenant (empty tenant, or none in the
	// context).
	ErrNoTenant = errors.New("table: no tenant in scope")
	// ErrKeyChanged: an Update function changed the item's primary key.
	ErrKeyChanged = errors.New("table: update changed the primary key")
	// ErrIndexProjection: the index does not project what a verified,
	// tenant-scoped query needs.
	ErrIndexProjection = errors.New("table: index projection cannot be verified")
	// ErrTooManyOps: a transaction has more operations than DynamoDB allows (100).
	ErrTooManyOps = errors.New("table: too many operations in one transaction")
	// ErrUnknownOutcome: a conditional write was sent more than once (the
	// answer to an earlier attempt was lost) and the stored item is now
	// another writer's: the earlier attempt may or may not have been applied
	// before it was overwritten. Read the item before deciding to write
	// again. It deliberately does not match ErrConflict, so that a retry loop
	// on conflicts never applies a change twice.
	ErrUnknownOutcome = errors.New("table: outcome of a resent write is unknown")
	// ErrInvalidItem: DynamoDB refused one write of a batch as invalid
	// (ValidationException) although it sealed; the other writes were sent.
	ErrInvalidItem = errors.New("table: DynamoDB refused the item as invalid")
	// ErrInvalidKey: a key is missing, empty, of the wrong type or otherwise
	// cannot address an item; nothing was sent.
	ErrInvalidKey = errors.New("table: invalid key")
)

// Sentinels of failed DynamoDB calls (see DynamoDBError) and of decoding.
var (
	// ErrUnavailable: DynamoDB could not be reached, throttled the request
	// (ProvisionedThroughputExceeded, RequestLimitExceeded, ThrottlingException),
	// failed on its side (HTTP 5xx), or did not answer in time. Retrying
	// later may succeed; nothing is known to have been written.
	ErrUnavailable = errors.New("table: DynamoDB unavailable")
	// ErrNoTable: the table or index does not exist (ResourceNotFoundException).
	ErrNoTable = errors.New("table: table or index not found")
	// ErrInvalidRequest: DynamoDB refused the request as invalid
	// (ValidationException); its message is not kept, since it can quote
	// attribute values.
	ErrInvalidRequest = errors.New("table: DynamoDB refused the request as invalid")
	// ErrAccessDenied: DynamoDB refused the caller's credentials or
	// permissions (AccessDeniedException, UnrecognizedClientException...).
	ErrAccessDenied = errors.New("table: DynamoDB access denied")
	// ErrRequestFailed: DynamoDB refused the request for a reason none of
	// the other sentinels names; DynamoDBError.Code says which.
	ErrRequestFailed = errors.New("table: DynamoDB request failed")
	// ErrDecode: a verified item's attribute does not decode into the
	// reader's Go type (the codec's error, which may quote the value, is
	// not kept: the error names the attribute and the Go type only).
	ErrDecode = errors.New("table: stored attribute does not decode into the Go type")
)

// errWrongTenantRead is a read of an item that belongs to another tenant.
// It matches both ErrNotFound, so an application that answers not-found
// with a 404 tells a tenant nothing about another tenant's keys, and
// ErrWrongTenant, so monitoring still sees the attempt.
var errWrongTenantRead error = wrongTenantRead{}

type wrongTenantRead struct{}

func (wrongTenantRead) Error() string { return ErrNotFound.Error() + " (another tenant's item)" }

func (wrongTenantRead) Unwrap() []error { return []error{ErrNotFound, ErrWrongTenant} }

// ItemError is the error of one item of a batch, query or scan. Key is the
// item's primary key (key attributes are signed plaintext, never encrypted);
// Error() never prints it.
type ItemError struct {
	Key Key
	Err error
}

// Error describes the failure without the key.
func (e *ItemError) Error() string { return "table: item: " + e.Err.Error() }

// Unwrap returns the item's error.
func (e *ItemError) Unwrap() error { return e.Err }

// BatchError reports what a batch call could not do. Nothing is dropped:
// every key DynamoDB left unprocessed after the last attempt is in
// Unprocessed, every item that failed on its own is in Failed.
type BatchError struct {
	// Unprocessed are the keys of reads or writes DynamoDB still returned
	// as unprocessed after the last attempt, or that were never sent because
	// a call failed (Err).
	Unprocessed []Key
	// Failed are items that failed individually (tampered, wrong tenant,
	// too large, key errors).
	Failed []ItemError
	// Err is the call error that stopped the batch, if any.
	Err error
}

// Error counts what is left; it lists no keys.
func (e *BatchError) Error() string {
	msg := fmt.Sprintf("table: batch incomplete: %d unprocessed, %d failed", len(e.Unprocessed), len(e.Failed))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes Err and every item error to errors.Is and errors.As.
func (e *BatchError) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	for i := range e.Failed {
		errs = append(errs, &e.Failed[i])
	}
	return errs
}
