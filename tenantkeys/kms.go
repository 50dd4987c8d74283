package tenantkeys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// KMSAPI is the part of the aws-sdk-go-v2 KMS client that KMSWrapper uses;
// *kms.Client satisfies it. Tests may substitute a fake.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KeySelector chooses the KMS key that wraps the keys of (tenant, class).
// It returns a key id, key ARN, alias name or alias ARN. It is consulted
// when a tenant key version is created; unwrapping always uses the key ARN
// recorded with the wrapped key, so changing the selection affects new
// versions only.
type KeySelector func(tenant, class string) (string, error)

// SharedKey selects one KMS key for every tenant. Tenant separation then
// rests on the per-tenant data keys and the encryption context; one KMS key
// in total.
func SharedKey(keyID string) KeySelector {
	return func(string, string) (string, error) { return keyID, nil }
}

// AliasPattern selects a KMS key per tenant by alias, substituting
// "{tenant}" and "{class}" (the class as its context label, "default" for
// ""). Example: "alias/tenant-{tenant}". The tenant ids must then be valid
// in KMS alias names ([A-Za-z0-9/_-]).
func AliasPattern(pattern string) KeySelector {
	return func(tenant, class string) (string, error) {
		r := strings.NewReplacer("{tenant}", tenant, "{class}", classLabel(class))
		return r.Replace(pattern), nil
	}
}

// KeyMap selects each tenant's KMS key from an explicit map of tenant id to
// key ARN, for tenants that bring their own key in their own account
// (BYOK). Tenants missing from the map use fallback if it is not nil, and
// otherwise fail with ErrKeyNotFound. The map is copied.
func KeyMap(keys map[string]string, fallback KeySelector) KeySelector {
	m := make(map[string]string, len(keys))
	for k, v := range keys {
		m[k] = v
	}
	return func(tenant, class string) (string, error) {
		if arn, ok := m[tenant]; ok {
			return arn, nil
		}
		if fallback != nil {
			return fallback(tenant, class)
		}
		return "", fmt.Errorf("%w: no KMS key configured for tenant %q", ErrKeyNotFound, tenant)
	}
}

// KMSWrapper wraps tenant keys with AWS KMS. Every call carries
// EncryptionContext(ref), so a key policy can require
// kms:EncryptionContext:tenant and CloudTrail records the tenant, class and
// version of each use.
//
// KMS rights: the admin side needs kms:GenerateDataKeyWithoutPlaintext
// (creation and rotation); an application role needs kms:Decrypt, plus
// kms:GenerateDataKey only if its store creates keys on first use.
type KMSWrapper struct {
	api    KMSAPI
	choose KeySelector
	// clientFor, when set (WithTenantClients), gives the client for each
	// tenant's calls instead of api.
	clientFor func(ctx context.Context, tenant string) (KMSAPI, error)
}

// client returns the KMS client for tenant's calls.
func (w *KMSWrapper) client(ctx context.Context, tenant string) (KMSAPI, error) {
	if w.clientFor == nil {
		return w.api, nil
	}
	return w.clientFor(ctx, tenant)
}

// KMSOption configures a KMSWrapper.
type KMSOption func(*KMSWrapper)

// NewKMSWrapper returns a Wrapper over a KMS client (usually *kms.Client)
// that picks the wrapping key of each tenant with choose.
func NewKMSWrapper(api KMSAPI, choose KeySelector, opts ...KMSOption) *KMSWrapper {
	w := &KMSWrapper{api: api, choose: choose}
	for _, o := range opts {
		o(w)
	}
	return w
}

var _ Wrapper = (*KMSWrapper)(nil)

func (w *KMSWrapper) keyID(ref attrcrypt.KeyRef) (string, error) {
	id, err := w.choose(ref.Tenant, ref.Class)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", fmt.Errorf("%w: no KMS key selected for %s", ErrKeyNotFound, ref)
	}
	return id, nil
}

// GenerateWrapped implements Wrapper with GenerateDataKeyWithoutPlaintext.
func (w *KMSWrapper) GenerateWrapped(ctx context.Context, ref attrcrypt.KeyRef) (Wrapped, error) {
	id, err := w.keyID(ref)
	if err != nil {
		return Wrapped{}, err
	}
	api, err := w.client(ctx, ref.Tenant)
	if err != nil {
		return Wrapped{}, err
	}
	out, err := api.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId:             aws.String(id),
		NumberOfBytes:     aws.Int32(attrcrypt.KeySize),
		EncryptionContext: EncryptionContext(ref),
	})
	if err != nil {
		return Wrapped{}, kmsError("GenerateDataKeyWithoutPlaintext", ref, err)
	}
	return Wrapped{KeyID: aws.ToString(out.KeyId), Blob: out.CiphertextBlob}, nil
}

// GenerateKey implements Wrapper with GenerateDataKey.
func (w *KMSWrapper) GenerateKey(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, Wrapped, error) {
	id, err := w.keyID(ref)
	if err != nil {
		return attrcrypt.Key{}, Wrapped{}, err
	}
	api, err := w.client(ctx, ref.Tenant)
	if err != nil {
		return attrcrypt.Key{}, Wrapped{}, err
	}
	out, err := api.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(id),
		NumberOfBytes:     aws.Int32(attrcrypt.KeySize),
		EncryptionContext: EncryptionContext(ref),
	})
	if err != nil {
		return attrcrypt.Key{}, Wrapped{}, kmsError("GenerateDataKey", ref, err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != attrcrypt.KeySize {
		return attrcrypt.Key{}, Wrapped{}, fmt.Errorf("%w: %s: KMS returned %d key bytes", ErrKeyCorrupt, ref, len(out.Plaintext))
	}
	key := attrcrypt.Key{Ref: ref}
	copy(key.Material[:], out.Plaintext)
	return key, Wrapped{KeyID: aws.ToString(out.KeyId), Blob: out.CiphertextBlob}, nil
}

// Unwrap implements Wrapper with Decrypt, naming the recorded KMS key.
func (w *KMSWrapper) Unwrap(ctx context.Context, ref attrcrypt.KeyRef, wr Wrapped) (attrcrypt.Key, error) {
	in := &kms.DecryptInput{
		CiphertextBlob:    wr.Blob,
		EncryptionContext: EncryptionContext(ref),
	}
	if wr.KeyID != "" {
		in.KeyId = aws.String(wr.KeyID)
	}
	api, err := w.client(ctx, ref.Tenant)
	if err != nil {
		return attrcrypt.Key{}, err
	}
	out, err := api.Decrypt(ctx, in)
	if err != nil {
		return attrcrypt.Key{}, kmsError("Decrypt", ref, err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != attrcrypt.KeySize {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s: unwrapped key has %d bytes", ErrKeyCorrupt, ref, len(out.Plaintext))
	}
	key := attrcrypt.Key{Ref: ref}
	copy(key.Material[:], out.Plaintext)
	return key, nil
}

// kmsError maps a KMS client error to the package's sentinels, keeping the
// original in the chain (errors.As still finds the SDK's types).
func kmsError(op string, ref attrcrypt.KeyRef, err error) error {
	var sentinel error
	var (
		nf  *types.NotFoundException
		dis *types.DisabledException
		ist *types.KMSInvalidStateException
		ic  *types.InvalidCiphertextException
		ik  *types.IncorrectKeyException
		ukt *types.KeyUnavailableException
		ie  *types.KMSInternalException
		dto *types.DependencyTimeoutException
		api smithy.APIError
		ne  net.Error
		re  *smithyhttp.ResponseError
	)
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("tenantkeys: KMS %s for %s: %w", op, ref, err)
	case errors.As(err, &nf):
		sentinel = ErrKeyNotFound
	case errors.As(err, &dis), errors.As(err, &ist):
		sentinel = ErrKeyDisabled
	case errors.As(err, &ic), errors.As(err, &ik):
		sentinel = ErrKeyCorrupt
	case errors.As(err, &ukt), errors.As(err, &ie), errors.As(err, &dto), errors.As(err, &ne):
		sentinel = ErrKMSUnavailable
	case errors.As(err, &re) && re.HTTPStatusCode() >= 500:
		// A 5xx without a KMS error body (a load balancer, a proxy) is
		// an UnknownError of unknown fault to the SDK.
		sentinel = ErrKMSUnavailable
	case errors.As(err, &api):
		switch code := api.ErrorCode(); {
		case code == "AccessDeniedException":
			sentinel = ErrAccessDenied
		case strings.Contains(code, "Throttl"), code == "LimitExceededException",
			code == "ServiceUnavailableException", code == "InternalFailure":
			sentinel = ErrKMSUnavailable
		case api.ErrorFault() == smithy.FaultServer:
			sentinel = ErrKMSUnavailable
		default:
			return fmt.Errorf("tenantkeys: KMS %s for %s: %w", op, ref, err)
		}
	default:
		// Transport failures (connection refused, reset, EOF) surface as
		// wrapped non-API errors; treat them as unavailability.
		sentinel = ErrKMSUnavailable
	}
	return fmt.Errorf("%w: KMS %s for %s: %w", sentinel, op, ref, err)
}
