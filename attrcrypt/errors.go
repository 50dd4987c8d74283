package attrcrypt

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sentinel errors. Every error Open and Seal return wraps one of these, so
// callers test with errors.Is. No error message ever contains an attribute
// value, plaintext or key material; messages may name attributes.
var (
	// ErrTampered: the item failed verification (tenant attribute, format
	// version, header, commitment, attribute set, signature, attribute).
	// Every failure a stored item's own bytes cause is one, except an item
	// with neither header nor signature (ErrNotSealed). Use errors.As with
	// *TamperError for the reason.
	ErrTampered = errors.New("attrcrypt: item failed verification")
	// ErrUnsupportedVersion: the header names a format version this reader
	// does not implement. A reader cannot tell an item from a newer writer
	// from an edited format byte, so Open and KeyRef return it as a
	// *TamperError with ReasonVersion whose chain matches both ErrTampered
	// and ErrUnsupportedVersion.
	ErrUnsupportedVersion = errors.New("attrcrypt: unsupported format version")
	// ErrMalformed: an attribute value is not a valid DynamoDB value (nil,
	// unknown member type, a number DynamoDB would refuse, a set with
	// duplicates, nesting deeper than DynamoDB allows, a signed string,
	// set element, map key or attribute name that is not valid UTF-8), or
	// the item given to Seal is not sealable (it uses a reserved name or
	// lacks the tenant attribute). It is a Seal-side error only: whatever a
	// stored item's own bytes cause in Open, KeyRef, Verify, OpenRecorded
	// or Reseal is ErrTampered (or ErrNotSealed).
	ErrMalformed = errors.New("attrcrypt: malformed item")
	// ErrWrongTenant: the item's tenant attribute names another tenant than
	// the key offered to open it.
	ErrWrongTenant = errors.New("attrcrypt: item belongs to another tenant")
	// ErrSchemaMismatch: the actions recorded in the header disagree with
	// the reader's actions in a way the configured policy does not allow.
	ErrSchemaMismatch = errors.New("attrcrypt: stored actions differ from the reader's schema")
	// ErrInvalidKey: the key offered to Seal or Open is unusable: all-zero
	// material, version 0, an empty tenant or a class longer than 255 bytes.
	ErrInvalidKey = errors.New("attrcrypt: invalid key")
	// ErrInvalidConfig: NewSealer was given a Config it cannot use.
	ErrInvalidConfig = errors.New("attrcrypt: invalid configuration")
	// ErrNotSealed: the item carries neither the header (__h) nor the
	// signature (__s): it was never sealed (a row of a plaintext table being
	// adopted), or both were stripped from a sealed item. It is not
	// ErrTampered (errors.Is with ErrTampered is false), so a migration can
	// tell such rows apart; but nothing about an unsealed item is verified,
	// so Open, KeyRef, Verify, OpenRecorded and Reseal never return its data.
	// An item with only one of the two, or a broken header, is ErrTampered.
	ErrNotSealed = errors.New("attrcrypt: item is not sealed")
)

// IsUnsealed reports whether item has neither the header nor the signature
// attribute (ErrNotSealed). It looks at attribute presence only: an
// attacker who strips both from a sealed item makes it unsealed too, so an
// unsealed item must never be taken as verified.
func IsUnsealed(item map[string]types.AttributeValue) bool {
	if _, ok := item[HeaderAttribute]; ok {
		return false
	}
	_, ok := item[SignatureAttribute]
	return !ok
}

// errNotSealed is the value-free error for an unsealed item.
var errNotSealed = fmt.Errorf("%w: the item has neither %s nor %s (written without dynaseal, or both were removed)", ErrNotSealed, HeaderAttribute, SignatureAttribute)

// Reasons carried by TamperError.Reason. They are stable strings so logs and
// metrics can group failures.
const (
	// ReasonCommitment: the key commitment in the header does not match the
	// key offered (wrong key, wrong key version, or header salt/commitment/key
	// reference edited). Checked before anything is decrypted.
	ReasonCommitment = "commitment"
	// ReasonSignature: the item signature is missing, malformed or does not
	// match the item (an attribute, the table, the tenant or the header was
	// changed).
	ReasonSignature = "signature"
	// ReasonHeader: the header attribute is missing, not binary, truncated or
	// otherwise unparsable.
	ReasonHeader = "header"
	// ReasonAttributeSet: the item's signed/encrypted attributes do not match
	// the count the header records (an attribute was added or removed).
	ReasonAttributeSet = "attribute-set"
	// ReasonTenant: the tenant attribute is missing or not a string (it is
	// checked before any cryptography, so no signature check reports it).
	ReasonTenant = "tenant"
	// ReasonAttribute: one covered attribute's stored value is invalid: a
	// signed value that is not a valid DynamoDB value (so no signature can
	// cover it), or an encrypted one that is not a well-formed ciphertext,
	// fails AES-GCM authentication or decrypts to a non-canonical payload.
	// TamperError.Attribute names it.
	ReasonAttribute = "attribute"
	// ReasonVersion: the header's format version byte names a version this
	// reader does not implement. The error also matches
	// ErrUnsupportedVersion: it may be an item from a newer writer rather
	// than an edit.
	ReasonVersion = "version"
)

// TamperError describes why an item failed verification. It wraps
// ErrTampered, so errors.Is(err, ErrTampered) holds; use errors.As to read
// the reason. It never holds attribute values or key material.
type TamperError struct {
	// Reason is one of the Reason* constants.
	Reason string
	// Attribute names the attribute concerned, when one is known.
	Attribute string
	// detail is a fixed, value-free explanation.
	detail string
	// also is a second sentinel the error matches (ErrUnsupportedVersion
	// for ReasonVersion), or nil.
	also error
}

// Error renders the reason, the attribute name if any, and a value-free
// explanation.
func (e *TamperError) Error() string {
	msg := ErrTampered.Error() + ": " + e.Reason
	if e.Attribute != "" {
		msg += " (attribute " + quote(e.Attribute) + ")"
	}
	if e.detail != "" {
		msg += ": " + e.detail
	}
	return msg
}

// Unwrap returns ErrTampered, and for ReasonVersion also
// ErrUnsupportedVersion, so errors.Is matches either.
func (e *TamperError) Unwrap() []error {
	if e.also != nil {
		return []error{ErrTampered, e.also}
	}
	return []error{ErrTampered}
}

func tamper(reason, attr, detail string) error {
	return &TamperError{Reason: reason, Attribute: attr, detail: detail}
}
