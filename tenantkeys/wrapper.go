package tenantkeys

import (
	"context"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Wrapped is a tenant key in wrapped (encrypted) form, as the key store
// keeps it. It holds no secret: without the wrapping key it is ciphertext.
type Wrapped struct {
	// KeyID names the wrapping key: a KMS key ARN, or "local:<id>" for a
	// master key of a local Keyring.
	KeyID string
	// Blob is the wrapped key material.
	Blob []byte
}

// Wrapper protects tenant key material with a key it never reveals: a KMS
// key (KMSWrapper) or a local master key (Keyring). The key store calls
// it; both implementations bind EncryptionContext(ref) to the wrapped form,
// so a blob only unwraps for the tenant, class and version it was made for.
// Implementations are safe for concurrent use.
//
// Unwrap must use only the wrapping keys its configuration allows for
// ref's tenant and class, and refuse a Wrapped naming any other with
// ErrUntrustedKey without trying it: the key store is not trusted.
//
// Errors wrap ErrKMSUnavailable (unreachable, throttled), ErrKeyDisabled
// (wrapping key disabled or pending deletion), ErrAccessDenied,
// ErrKeyNotFound (wrapping key missing), ErrUntrustedKey (a wrapping key
// not allowed) or ErrKeyCorrupt and ErrKeyRecordTampered (blob fails
// authentication under the context).
type Wrapper interface {
	// GenerateWrapped creates fresh random key material for ref and returns
	// it in wrapped form only; the plaintext never leaves the wrapper (KMS:
	// GenerateDataKeyWithoutPlaintext). Store does not use it: it needs the
	// new key once to tag the records it writes.
	GenerateWrapped(ctx context.Context, ref attrcrypt.KeyRef) (Wrapped, error)
	// GenerateKey creates fresh key material for ref and returns it in
	// plain and wrapped form. Creation, rotation and first-use creation
	// take this path (KMS: GenerateDataKey).
	GenerateKey(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, Wrapped, error)
	// Unwrap recovers the key material of ref from w (KMS: Decrypt).
	Unwrap(ctx context.Context, ref attrcrypt.KeyRef, w Wrapped) (attrcrypt.Key, error)
}
