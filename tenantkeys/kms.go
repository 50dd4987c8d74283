package tenantkeys

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

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
// It returns a key id, key ARN, alias name or alias ARN. It is never asked
// about a beacon key class: the beacon key of class C (BeaconClass(C)) is
// wrapped by the key selected for (tenant, C), under its own encryption
// context (class "__beacon.C"). It is consulted
// when a tenant key version is created and on every unwrap: the selected key
// is the only one allowed to unwrap that tenant's keys (Decrypt names it as
// KeyId), so a record naming another key fails with ErrUntrustedKey. After
// changing the selection, move existing versions with Admin.Rewrap.
type KeySelector func(tenant, class string) (string, error)

// SharedKey selects one KMS key for every tenant. Tenant separation then
// rests on the per-tenant data keys and the encryption context; one KMS key
// in total.
func SharedKey(keyID string) KeySelector {
	return func(string, string) (string, error) { return keyID, nil }
}

// AliasPattern selects a KMS key per tenant by alias, substituting
// "{tenant}" and "{class}" (the class as its context label, "default" for
// ""). Example: "alias/tenant-{tenant}". Tenant ids and classes must be
// valid in KMS alias names ([A-Za-z0-9:/_-]); others fail with
// ErrInvalidName. A pattern ValidateAliasPattern refuses (for example
// "alias/{tenant}-{class}", where tenant "a" class "b-c" and tenant "a-b"
// class "c" would share a key) makes every selection fail with
// ErrInvalidName.
//
// Decrypt names the alias as KeyId, so KMS itself checks that a tenant
// key was wrapped under the key the alias points to now, and the wrapper
// checks that KMS used the key recorded when the version was created. If
// you point an alias at another KMS key, run Admin.Rewrap (with a wrapper
// for the previous key as from) before disabling the previous key.
func AliasPattern(pattern string) KeySelector {
	perr := ValidateAliasPattern(pattern)
	return func(tenant, class string) (string, error) {
		if perr != nil {
			return "", perr
		}
		label := classLabel(class)
		if !aliasChars(tenant) || !aliasChars(label) {
			return "", fmt.Errorf("%w: tenant or class %q cannot be part of a KMS alias name ([A-Za-z0-9:/_-])", ErrInvalidName, label)
		}
		r := strings.NewReplacer("{tenant}", tenant, "{class}", label)
		return r.Replace(pattern), nil
	}
}

// ValidateAliasPattern checks a pattern for AliasPattern: it must start
// with "alias/", hold only alias name characters besides the placeholders,
// name each placeholder at most once, and, if it names both, separate them
// by text containing '/' or ':' (characters class names cannot contain), so
// no two (tenant, class) pairs resolve to the same alias. The error wraps
// ErrInvalidName.
func ValidateAliasPattern(pattern string) error {
	if !strings.HasPrefix(pattern, "alias/") {
		return fmt.Errorf("%w: alias pattern %q must start with alias/", ErrInvalidName, pattern)
	}
	nt, nc := strings.Count(pattern, "{tenant}"), strings.Count(pattern, "{class}")
	if nt > 1 || nc > 1 {
		return fmt.Errorf("%w: alias pattern %q names a placeholder twice", ErrInvalidName, pattern)
	}
	if !aliasChars(strings.NewReplacer("{tenant}", "", "{class}", "").Replace(pattern)) {
		return fmt.Errorf("%w: alias pattern %q holds characters not allowed in alias names", ErrInvalidName, pattern)
	}
	if nt == 1 && nc == 1 {
		ti, ci := strings.Index(pattern, "{tenant}"), strings.Index(pattern, "{class}")
		var between string
		if ti < ci {
			between = pattern[ti+len("{tenant}") : ci]
		} else {
			between = pattern[ci+len("{class}") : ti]
		}
		if !strings.ContainsAny(between, "/:") {
			return fmt.Errorf("%w: alias pattern %q: {tenant} and {class} must be separated by '/' or ':', or two tenant/class pairs can share one KMS key", ErrInvalidName, pattern)
		}
	}
	return nil
}

func aliasChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '/' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isAlias(id string) bool {
	return strings.HasPrefix(id, "alias/") || strings.Contains(id, ":alias/")
}

// sameKMSKey reports whether two key references name the same key: equal,
// or a key ARN and its bare key id.
func sameKMSKey(a, b string) bool {
	if a == b {
		return true
	}
	if strings.HasPrefix(a, "arn:") == strings.HasPrefix(b, "arn:") {
		return false
	}
	if strings.HasPrefix(b, "arn:") {
		a, b = b, a
	}
	return !strings.Contains(b, "/") && strings.HasSuffix(a, ":key/"+b)
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
// KMS rights: the admin side needs kms:GenerateDataKey (creation and
// rotation: the Store tags the new records with the new key) and
// kms:Decrypt, plus kms:Encrypt for Rewrap; an application role needs
// kms:Decrypt on the selected keys only, plus kms:GenerateDataKey only if
// its store creates keys on first use.
type KMSWrapper struct {
	api      KMSAPI
	choose   KeySelector
	previous KeySelector
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

// WithPreviousKeys also allows, for unwrapping only, the KMS key previous
// selects for each tenant and class: the key an alias pointed to, or the
// shared or mapped key used, before the selection changed. It covers the
// window until Admin.Rewrap has moved every version under the new key;
// remove it then. previous must return key ids or ARNs, not aliases.
func WithPreviousKeys(previous KeySelector) KMSOption {
	return func(w *KMSWrapper) { w.previous = previous }
}

// unwrapKey returns the KMS key Decrypt must name for a record that names
// recorded: the selected key, or the previous one if the record names it.
// A record naming any other key is refused.
func (w *KMSWrapper) unwrapKey(ref attrcrypt.KeyRef, recorded string) (string, error) {
	want, err := w.keyID(ref)
	if err != nil {
		return "", err
	}
	if recorded != "" && w.previous != nil && !sameKMSKey(recorded, want) {
		if prev, err := w.previous(ref.Tenant, selectorClass(ref.Class)); err == nil && prev != "" && !isAlias(prev) && sameKMSKey(recorded, prev) {
			return prev, nil
		}
	}
	if recorded != "" && !isAlias(want) && !sameKMSKey(recorded, want) {
		return "", fmt.Errorf("%w: %s: the record names wrapping key %s; the configuration allows %s", ErrUntrustedKey, ref, recorded, want)
	}
	return want, nil
}

// selectorClass is the class a KeySelector is asked about: a beacon key
// is wrapped by the KMS key of its data class.
func selectorClass(class string) string {
	if data, ok := DataClassOf(class); ok {
		return data
	}
	return class
}

func (w *KMSWrapper) keyID(ref attrcrypt.KeyRef) (string, error) {
	id, err := w.choose(ref.Tenant, selectorClass(ref.Class))
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

// Unwrap implements Wrapper with Decrypt. Only the KMS key the selector
// allows for ref's tenant and class may unwrap: a record naming another key
// fails with ErrUntrustedKey without a call, and Decrypt always names the
// allowed key as KeyId, so KMS refuses a blob made under any other key
// (IncorrectKeyException, also ErrUntrustedKey). With WithPreviousKeys, a
// record naming the previous key is unwrapped naming that key. The key KMS
// reports it used must be the one recorded (else ErrUntrustedKey and
// ErrKeyRecordTampered).
func (w *KMSWrapper) Unwrap(ctx context.Context, ref attrcrypt.KeyRef, wr Wrapped) (attrcrypt.Key, error) {
	want, err := w.unwrapKey(ref, wr.KeyID)
	if err != nil {
		return attrcrypt.Key{}, err
	}
	api, err := w.client(ctx, ref.Tenant)
	if err != nil {
		return attrcrypt.Key{}, err
	}
	out, err := api.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    wr.Blob,
		EncryptionContext: EncryptionContext(ref),
		KeyId:             aws.String(want),
	})
	if err != nil {
		return attrcrypt.Key{}, kmsError("Decrypt", ref, err)
	}
	defer clear(out.Plaintext)
	if used := aws.ToString(out.KeyId); wr.KeyID != "" && used != "" && !sameKMSKey(used, wr.KeyID) {
		// The allowed key opened it, so the record's key id was edited.
		return attrcrypt.Key{}, fmt.Errorf("%w: %w: %s: the record names wrapping key %s but KMS used the allowed key %s", ErrUntrustedKey, ErrKeyRecordTampered, ref, wr.KeyID, used)
	}
	if len(out.Plaintext) != attrcrypt.KeySize {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s: unwrapped key has %d bytes", ErrKeyCorrupt, ref, len(out.Plaintext))
	}
	key := attrcrypt.Key{Ref: ref}
	copy(key.Material[:], out.Plaintext)
	return key, nil
}

// kmsEncrypter is the KMS Encrypt call; *kms.Client has it. Wrap needs it
// (kms:Encrypt), so KMSAPI stays as small as the data path needs.
type kmsEncrypter interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
}

var _ KeyWrapper = (*KMSWrapper)(nil)

// Wrap implements KeyWrapper with KMS Encrypt under the selected key and
// EncryptionContext(key.Ref). The KMS client must have an Encrypt method
// (*kms.Client does).
func (w *KMSWrapper) Wrap(ctx context.Context, key attrcrypt.Key) (Wrapped, error) {
	id, err := w.keyID(key.Ref)
	if err != nil {
		return Wrapped{}, err
	}
	api, err := w.client(ctx, key.Ref.Tenant)
	if err != nil {
		return Wrapped{}, err
	}
	enc, ok := api.(kmsEncrypter)
	if !ok {
		return Wrapped{}, fmt.Errorf("tenantkeys: %T has no Encrypt method: %w", api, errors.ErrUnsupported)
	}
	pt := key.Material
	defer clear(pt[:])
	out, err := enc.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(id),
		Plaintext:         pt[:],
		EncryptionContext: EncryptionContext(key.Ref),
	})
	if err != nil {
		return Wrapped{}, kmsError("Encrypt", key.Ref, err)
	}
	return Wrapped{KeyID: aws.ToString(out.KeyId), Blob: out.CiphertextBlob}, nil
}

// wrapsUnder implements wrapTarget; an alias cannot be compared without a
// call, so versions under an alias are re-wrapped every time.
func (w *KMSWrapper) wrapsUnder(ref attrcrypt.KeyRef, wr Wrapped) bool {
	want, err := w.keyID(ref)
	return err == nil && !isAlias(want) && sameKMSKey(wr.KeyID, want)
}

// kmsError maps a KMS client error to the package's sentinels. The SDK
// error stays in the chain for errors.As, but its message (service text)
// is not part of the error string. Unmodelled answers (5xx with an empty
// body, unknown codes) are classified by code and HTTP status, never left
// without a sentinel.
func kmsError(op string, ref attrcrypt.KeyRef, err error) error {
	e := newSDKError("KMS", op, err)
	if isCtxErr(err) {
		return fmt.Errorf("tenantkeys: for %s: %w", ref, e)
	}
	return joinSentinels(kmsSentinel(op, e), "%w, for %s", e, ref)
}
