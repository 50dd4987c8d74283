// Package attrcrypt is dynaseal's item format: it seals and opens DynamoDB
// items (map[string]types.AttributeValue) with a tenant's key. It knows
// nothing of Go structs or DynamoDB calls.
//
// Seal encrypts the attributes marked ActionEncrypt (AES-256-GCM), signs
// every attribute not marked ActionPlain (HMAC-SHA256 over a canonical
// encoding), and adds two reserved attributes: HeaderAttribute ("__h":
// format version, key class and version, a fresh random salt, a key
// commitment, and the action each attribute was written with) and
// SignatureAttribute ("__s"). Per-item keys come from HKDF-SHA256 over the
// tenant key and the salt. Open checks, in order: the tenant attribute
// against the key's tenant (ErrWrongTenant), the header, the key commitment
// (in constant time, before anything is decrypted), the set of signed
// attributes, the signature (in constant time), the schema-drift policy, and
// only then decrypts. FORMAT.md in this directory specifies every byte.
//
// # Usage
//
//	s, err := attrcrypt.NewSealer(attrcrypt.Config{
//		Table:           "patients",
//		TenantAttribute: "tenant",
//		Actions:         map[string]attrcrypt.Action{"name": attrcrypt.ActionEncrypt, "seen": attrcrypt.ActionPlain},
//	})
//	sealed, err := s.Seal(item, key)            // key: the tenant's current Key
//	ref, err := s.KeyRef(stored)                // which key version opens it (no crypto)
//	item, res, err := s.Open(stored, keyFor(ref))
//
// A Sealer is immutable and safe for concurrent use.
//
// # DynamoDB's rewriting
//
// DynamoDB reorders set elements and map keys and rewrites numbers into a
// canonical text ("1.50" becomes "1.5", "1E3" becomes "1000"). The signature
// is computed over canonical forms, so it survives. Encrypted values are
// encrypted in canonical form too, and Open returns encrypted and signed
// values alike in the canonical form it verified: numbers in canonical text
// (see CanonicalNumber) and sets in canonical order, at any depth. The text
// may differ from what was written, the value never does, exactly as with
// DynamoDB itself. Plain values are returned as stored.
//
// Because DynamoDB's protocol is JSON, Seal refuses signed strings, set
// elements and map keys that are not valid UTF-8, and attribute names that
// are not, with ErrMalformed; encrypted values may hold any bytes. Seal
// refuses documents nested deeper than DynamoDB accepts (31 levels).
//
// # Schema drift
//
// The header records the action every attribute was sealed with. When the
// reader's Config disagrees, Open applies this policy (stored → reader):
//
//	sign    → sign      verified
//	sign    → encrypt   ErrSchemaMismatch; with AllowPlaintextMigration: returned
//	                    verified (in plaintext), reported, MigrationUsed
//	sign    → plain     verified, returned, reported
//	encrypt → sign      verified, decrypted, reported
//	encrypt → plain     verified, decrypted, reported
//	plain   → sign or   ErrSchemaMismatch; with AllowPlaintextMigration: returned
//	          encrypt   unverified (Drift.Verified false), reported, MigrationUsed
//	plain   → plain     returned as found
//	(absent: added after sealing, not plain for the reader) → ErrTampered, attribute-set
//
// "Reported" means an entry in OpenResult.Drift; reseal such items. When
// several attributes are refused, the error names the smallest name.
//
// # Recorded actions
//
// Callers without the item's Go type use the actions recorded in the
// header instead of Config.Actions: Verify checks an item fully without
// returning plaintext, OpenRecorded opens it, Reseal re-seals it under a new
// key keeping every attribute and its action, and CommitsTo tells whether a
// header commits to a key whatever key version it names.
//
// # Errors
//
// Errors wrap the package's sentinels (ErrTampered, ErrWrongTenant,
// ErrUnsupportedVersion, ErrMalformed, ErrSchemaMismatch, ErrInvalidKey,
// ErrInvalidConfig, ErrNotSealed) for errors.Is. Whatever a stored item's
// own bytes cause in Open, KeyRef, Verify, OpenRecorded or Reseal is a
// *TamperError (ErrTampered) whose Reason says which check failed, except
// an item with neither header nor signature, which is ErrNotSealed (and
// never ErrTampered); an unknown format version is ReasonVersion and also
// matches ErrUnsupportedVersion.
// ErrMalformed is Seal's input error only. FORMAT.md, "Errors", has the
// full table. No error contains an attribute value, plaintext or key
// material.
//
// # Size
//
// Sealing the DESIGN.md reference item (4 encrypted strings, 6 signed
// attributes) adds 187 bytes. ItemSize computes DynamoDB's item size so a
// caller can refuse an item over MaxItemSize before sending it.
package attrcrypt
