package tenantkeys

import (
	"context"
	"errors"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Provider answers the two questions a data path asks: which key seals a new
// item of a tenant, and which key opens an item sealed earlier. It is the only
// interface the table layer needs, so an application role that holds a
// Provider needs read and decrypt rights only. Implementations are safe for
// concurrent use.
type Provider interface {
	// CurrentKey returns the active key version of (tenant, class) for
	// sealing. class "" is the default class.
	CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error)
	// Key returns exactly the version named by ref, for opening.
	Key(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error)
}

// Sentinel errors shared by every provider; test with errors.Is.
var (
	// ErrKeyNotFound: no key exists for the tenant, class or version asked for.
	ErrKeyNotFound = errors.New("tenantkeys: key not found")
	// ErrKeyShredded: the tenant's keys were destroyed on purpose; its data
	// can never be read again. Distinct from not found and from tampering.
	ErrKeyShredded = errors.New("tenantkeys: tenant key was shredded")
	// ErrKeyDisabled: the key exists but is disabled (by an admin, or its
	// wrapping KMS key is disabled or scheduled for deletion).
	ErrKeyDisabled = errors.New("tenantkeys: key is disabled")
	// ErrKMSUnavailable: the key wrapping service (KMS) could not be reached,
	// throttled us, or failed in a way no more specific sentinel describes
	// (a 5xx answer, an unknown error code), and no cached key could answer.
	ErrKMSUnavailable = errors.New("tenantkeys: key management service unavailable")
	// ErrConflict: a concurrent create or rotate won the conditional write;
	// nothing was overwritten. Retry to see the winner's result.
	ErrConflict = errors.New("tenantkeys: concurrent key change")
)

// More sentinel errors; test with errors.Is.
var (
	// ErrKeyCorrupt: a wrapped tenant key failed authentication when
	// unwrapped (it was altered, or moved to another tenant, class or
	// version, whose encryption context no longer matches). Distinct from
	// ErrKeyShredded and ErrKeyNotFound.
	ErrKeyCorrupt = errors.New("tenantkeys: wrapped key failed authentication")
	// ErrAccessDenied: the key wrapping service refused the caller (for
	// example a KMS key policy or grant does not allow the operation for
	// this tenant's encryption context).
	ErrAccessDenied = errors.New("tenantkeys: access to the wrapping key denied")
	// ErrInvalidName: a tenant id or key class is not acceptable (empty
	// tenant, too long, or characters the key store cannot encode).
	ErrInvalidName = errors.New("tenantkeys: invalid tenant or class name")
	// ErrKeyRetired: the key version is below the floor an admin set with
	// Retire; items sealed under it are no longer accepted. Distinct from
	// ErrKeyShredded (the tenant was erased) and from tampering.
	ErrKeyRetired = errors.New("tenantkeys: key version is retired")
	// ErrKeyStoreUnavailable: the key store (its DynamoDB table) could not
	// be reached, throttled us, or does not exist, and no cached key could
	// answer.
	ErrKeyStoreUnavailable = errors.New("tenantkeys: key store unavailable")
	// ErrUntrustedKey: a stored key record names a wrapping key (KMS key or
	// master key id) that the configuration does not allow for its tenant;
	// nothing was unwrapped with it.
	ErrUntrustedKey = errors.New("tenantkeys: wrapping key not allowed for this tenant")
	// ErrKeyRecordTampered: a key-store record failed authentication: it was
	// edited, or copied from another tenant, class, version or role.
	ErrKeyRecordTampered = errors.New("tenantkeys: key store record failed authentication")
	// ErrBeaconKeyRotation: Rotate or Retire was asked for a beacon key
	// class (BeaconClass). Beacon keys are not rotated in this release:
	// every stored beacon and unique-value claim of the tenant was computed
	// with the one beacon key, so a new one would orphan them.
	ErrBeaconKeyRotation = errors.New("tenantkeys: beacon keys cannot be rotated or retired")
)
