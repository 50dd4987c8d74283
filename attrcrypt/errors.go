package attrcrypt

import "errors"

// Sentinel errors. Every error Open and Seal return wraps one of these, so
// callers test with errors.Is. No error message ever contains an attribute
// value, plaintext or key material; messages may name attributes.
var (
	// ErrTampered: the item failed verification (commitment, signature,
	// attribute authentication, attribute set). Use errors.As with
	// *TamperError for the reason.
	ErrTampered = errors.New("attrcrypt: item failed verification")
	// ErrUnsupportedVersion: the header names a format version this reader
	// does not implement.
	ErrUnsupportedVersion = errors.New("attrcrypt: unsupported format version")
	// ErrMalformed: the header or an encrypted value cannot be parsed, or
	// the input item is not sealable (for example it uses a reserved name).
	ErrMalformed = errors.New("attrcrypt: malformed item")
	// ErrWrongTenant: the item's tenant attribute names another tenant than
	// the key offered to open it.
	ErrWrongTenant = errors.New("attrcrypt: item belongs to another tenant")
	// ErrSchemaMismatch: the actions recorded in the header disagree with
	// the reader's actions in a way the configured policy does not allow.
	ErrSchemaMismatch = errors.New("attrcrypt: stored actions differ from the reader's schema")
)
