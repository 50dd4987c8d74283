// Package tenantkeys supplies per-tenant keys to dynaseal: one cryptographic
// key per tenant (and per data class), at the cost of one KMS key in total.
//
// # Key hierarchy
//
//	KMS key (shared, one per tenant by alias, or the tenant's own: BYOK)
//	  └─ wraps ─▶ tenant data key, per (tenant, class, version), 32 random
//	              bytes, stored wrapped in the key store table
//	                └─ attrcrypt derives ─▶ per-item keys (HKDF, fresh salt
//	                                        per write) that seal each item
//
// A Wrapper protects tenant data keys: KMSWrapper (AWS KMS through the
// aws-sdk-go-v2 client) or Keyring (local master keys from a file or an
// environment variable, the embedded default for development and tests).
// Both are the same code path behind the Wrapper interface.
//
// A Store keeps the wrapped keys (NewDynamoDBStore, or NewMemoryStore for
// tests) and answers the Provider interface the table layer uses. A Cache in
// front of any Provider keeps unwrapped keys for a TTL, so KMS is called
// when a tenant key is created, rotated, or first used by a process (and
// again once per TTL), never per item.
//
// # Separation of duties
//
// Provider (CurrentKey, Key) is all an application needs; Admin (Create,
// Rotate, Disable, Enable, Retire, Rewrap, Versions, Shred,
// ReopenAfterShred) is for a key administration role. Store implements
// both; hand each role only its interface and grant each only its rights:
//
//	application (decrypt-only)        admin
//	dynamodb:GetItem                  dynamodb:GetItem, Query, PutItem,
//	kms:Decrypt on the allowed keys     UpdateItem, BatchWriteItem,
//	(+ dynamodb:PutItem,                ConditionCheckItem
//	   ConditionCheckItem and         kms:GenerateDataKey, kms:Decrypt
//	   kms:GenerateDataKey only       (+ kms:Encrypt on the new key for
//	   with WithCreateOnFirstUse)        Rewrap)
//
// Reads use TransactGetItems, which IAM authorizes as dynamodb:GetItem on
// each item; writes use TransactWriteItems (PutItem, UpdateItem,
// ConditionCheckItem). Only the admin role may write the key store table.
//
// # Beacon keys
//
// Each tenant has, per data class C, a beacon key: the key of class
// BeaconClass(C) ("__beacon" for the default class, "__beacon.C"
// otherwise), from which the table layer derives the beacons and
// unique-value claim tags of searchable encryption (attrcrypt.Searcher,
// attrcrypt FORMAT.md section 16). It is stored, wrapped and authenticated
// like every tenant key (its class is in the encryption context and the
// record tag, so a data key record copied over a beacon key's, or the
// other way round, is refused with ErrKeyRecordTampered). It is separate
// from the data keys so that rotating a data key changes no beacon:
// Admin.Create of a data class also creates its beacon key (one more
// GenerateDataKey; an existing one is kept), first use creates it like any
// key, Create(tenant, BeaconClass(C)) adds it to a tenant of an older
// release, Rotate and Retire refuse it (ErrBeaconKeyRotation), and Shred
// destroys it with the tenant's other keys. Class names starting with "__"
// are otherwise reserved. The beacon key of class C is wrapped by the KMS
// key selected for C (a KeySelector is never asked about a beacon class),
// with "__beacon.C" as the class in its encryption context: a KMS key
// policy that conditions on kms:EncryptionContext:class must allow it.
//
// # Key store table
//
// CreateTableInput returns the table definition: partition key "pk" (S),
// the tenant id; sort key "sk" (S); on-demand capacity. Items:
//
//	sk "V#<class>#<version, 10 digits>"   one per (tenant, class, version):
//	    version (N), wrapped (B), kmsKeyId (S), created (N, Unix ms),
//	    disabled (BOOL), tag (B)
//	sk "P#<class>"                        pointer to the current version:
//	    version (N), wrapped (B) and kmsKeyId (S) of that version,
//	    disabled (BOOL), floor (N: retirement floor), tag (B)
//	sk "X"                                tombstone, after Shred:
//	    epoch (N), shredded (N, Unix ms), complete (BOOL), reopened (BOOL),
//	    floor (M: class, "default" for "", → highest destroyed version)
//
// Class names are limited to [A-Za-z0-9._-] (no '#'), so sort keys are
// unambiguous; the default class is "". Creation is one TransactWriteItems:
// put version 1 if absent, put the pointer if absent, check that no
// tombstone exists. Rotation is one TransactWriteItems: put version N+1 if
// absent, replace the pointer if it still holds version N with the same
// wrapped key and tag, check the tombstone. So two processes rotating at once yield two distinct versions
// or one ErrConflict, never an overwritten or lost version, and racing
// first-use creations end with one version 1. Shred writes the tombstone
// first (after which no creation or rotation can commit and every read
// answers ErrKeyShredded), then deletes every version and pointer of the
// tenant. A shredded tenant gets new keys only after ReopenAfterShred, and
// those are numbered above the destroyed versions, so items sealed under a
// destroyed key keep failing with ErrKeyShredded rather than as tampered.
// Point-in-time recovery and backups of the key store keep shredded keys
// until they expire: set their retention with that in mind.
//
// # Encryption context
//
// Every wrap and unwrap, in KMS and in the local Keyring alike, binds
// EncryptionContext(ref):
//
//	{"tenant": "<tenant id>", "class": "<class or default>",
//	 "version": "<version>", "purpose": "dynaseal-tenant-key"}
//
// A wrapped key copied to another tenant, class or version fails to unwrap
// (ErrKeyCorrupt). CloudTrail records the context of each KMS call, so every
// use of a tenant's key is visible per tenant, and a key policy can require
// it. For example, to let a role decrypt only tenant acme's keys:
//
//	{
//	  "Sid": "AppDecryptsOnlyTenantAcme",
//	  "Effect": "Allow",
//	  "Principal": {"AWS": "arn:aws:iam::111122223333:role/acme-app"},
//	  "Action": "kms:Decrypt",
//	  "Resource": "*",
//	  "Condition": {
//	    "StringEquals": {
//	      "kms:EncryptionContext:tenant": "acme",
//	      "kms:EncryptionContext:purpose": "dynaseal-tenant-key"
//	    }
//	  }
//	}
//
// # Trusting the key store
//
// Whoever can write the key store table is not trusted (the README's threat
// model): they must not be able to plant, swap, roll back or revive a
// tenant key. Four mechanisms, each checked before a key is returned:
//
// Strict wrapping keys. A wrapper unwraps only with the wrapping key its
// configuration allows for the tenant: KMSWrapper asks its KeySelector
// (SharedKey: that key; KeyMap: the mapped key; AliasPattern: the alias)
// and passes that key as Decrypt's KeyId, so KMS refuses a blob made under
// any other key; a record naming another key is refused before any call;
// and the key KMS reports it used must be the one recorded. The Keyring
// unwraps only with its own master key ids. Failures: ErrUntrustedKey.
// This is what stops a planted record: an attacker who wraps 32 bytes of
// their choosing under a KMS key they own (one the application role may
// call Decrypt on) cannot make it unwrap.
//
// Authenticated records. Every version record and every pointer carries a
// tag: HMAC-SHA256, keyed by HKDF-SHA256(tenant data key of the version the
// record carries, "dynaseal/tenantkeys/record-mac/v1"), over a
// length-prefixed encoding of the key-store name (the table name, or
// WithStoreName), tenant, class, record role ("version" or "pointer"),
// version, wrapping key id, wrapped blob, disabled flag, retirement floor
// and creation time. Only a holder of that data key can make a tag, and
// the data key is recovered only through an allowed wrapping key whose
// encryption context names the same tenant, class and version. So a record
// copied to another tenant, class, version, role or key store, or edited
// (version, blob, key id, disabled flag, floor), is refused with
// ErrKeyRecordTampered (which, for older callers, also matches
// ErrKeyCorrupt). The tag needs no key beyond the tenant key itself: no
// extra KMS call, one Decrypt per tenant key as before. A set disabled
// flag is obeyed even without a valid tag (it can only refuse).
//
// Monotonic versions. A Store remembers, per (tenant, class), the highest
// current version and retirement floor it has verified; a pointer that
// goes back (an older genuine pointer replayed) fails with
// ErrKeyRecordTampered, and versions below a floor it has seen fail with
// ErrKeyRetired. A Cache in front keeps serving its verified entries.
//
// Retirement and re-wrap. Admin.Retire raises the pointer's authenticated
// floor (never lowers it) and deletes the wrapped keys below it: Key then
// answers ErrKeyRetired. Admin.Rewrap moves the live versions under a new
// wrapping key without changing them; disabling the old KMS key (or
// removing the old master key) then makes every copy taken before, of any
// record, useless.
//
// What a key-table writer can still do: deny service (delete or corrupt
// records, plant a tombstone; every read then fails, never with a wrong
// key), and replay records they copied earlier, while the wrapping key
// that made those copies is still allowed: an older genuine pointer makes
// a process that has not yet seen a newer version (a fresh process) seal
// with that older version until a cache TTL or a process that saw the new
// one notices; a copied record of a since-retired version is refused by
// the floor only where the floor is known. Re-wrapping to a new wrapping
// key and disabling the old one closes both. The tombstone carries no
// tag: it holds no key, and forging or deleting it can only deny service
// or leave destroyed keys destroyed.
//
// Records written before authentication (no tag) are refused with
// ErrKeyRecordTampered; WithLegacyRecords accepts them during a rollout,
// and Admin.Rewrap adds their tags. Binaries of the previous release read
// tagged records (they ignore the tag), so old and new application
// binaries can run side by side; run admin operations (which write tags)
// from the new release only (old application binaries with
// WithCreateOnFirstUse create keys too), since a record an old binary
// writes or rewrites has no tag, or a stale one, and new binaries refuse it
// (ErrKeyRecordTampered) unless WithLegacyRecords is on.
//
// # KMS calls
//
// Create: one GenerateDataKey per key it makes, so two for a new tenant
// and class (data key and beacon key; the admin computes the records' tags
// with each new key, then zeroes it). First-use creation: one
// GenerateDataKey. Rotate: one Decrypt
// (to verify the current pointer) and one GenerateDataKey. Disable, Enable
// and Rewrap: one Decrypt per version (Rewrap: plus one Encrypt per
// version moved); Retire: one Decrypt. CurrentKey or Key through a Cache: one
// Decrypt per (tenant, class, version) per process per TTL, however many
// goroutines ask at once; a cached CurrentKey also serves Key for its
// version. A service with 1,000 active tenants and a 5-minute TTL makes at
// most about 1,000 Decrypt calls per 5 minutes per process, whatever its
// item rate.
//
// # Errors
//
// Every error wraps one of the sentinels (ErrKeyNotFound, ErrKeyShredded,
// ErrKeyDisabled, ErrKeyRetired, ErrKMSUnavailable, ErrKeyStoreUnavailable,
// ErrConflict, ErrKeyCorrupt, ErrKeyRecordTampered, ErrUntrustedKey,
// ErrAccessDenied, ErrInvalidName, ErrBeaconKeyRotation, ErrKeyring) or a
// context error; test
// with errors.Is. KMS answers map by error code, and unmodelled ones by
// HTTP status: throttling, 5xx (also with an empty body) and unknown codes
// are ErrKMSUnavailable; IncorrectKeyException is ErrUntrustedKey;
// ValidationException and InvalidCiphertextException on Decrypt are
// ErrKeyCorrupt and ErrKeyRecordTampered; UnrecognizedClient,
// InvalidSignature, AccessDenied and InvalidKeyUsage (the configured key
// cannot wrap keys) are ErrAccessDenied. Every DynamoDB failure of the key
// store (unreachable, throttled, missing table, server error) is
// ErrKeyStoreUnavailable. Error strings carry the operation, error code and
// HTTP status, never a service's message text (the SDK error stays in the
// chain for errors.As). No error, log line or audit event contains key
// material.
package tenantkeys
