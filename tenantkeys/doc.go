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
// Rotate, Disable, Enable, Versions, Shred, ReopenAfterShred) is for a key
// administration role. Store implements both; hand each role only its
// interface and grant each only its rights:
//
//	application (decrypt-only)        admin
//	dynamodb:GetItem                  dynamodb:GetItem, Query, PutItem,
//	kms:Decrypt                         UpdateItem, DeleteItem,
//	(+ dynamodb:PutItem,                BatchWriteItem, ConditionCheckItem
//	   ConditionCheckItem and         kms:GenerateDataKeyWithoutPlaintext
//	   kms:GenerateDataKey only
//	   with WithCreateOnFirstUse)
//
// Reads use TransactGetItems, which IAM authorizes as dynamodb:GetItem on
// each item; writes use TransactWriteItems (PutItem, UpdateItem,
// ConditionCheckItem).
//
// # Key store table
//
// CreateTableInput returns the table definition: partition key "pk" (S),
// the tenant id; sort key "sk" (S); on-demand capacity. Items:
//
//	sk "V#<class>#<version, 10 digits>"   one per (tenant, class, version):
//	    version (N), wrapped (B), kmsKeyId (S), created (N, Unix ms)
//	sk "P#<class>"                        pointer to the current version:
//	    version (N), wrapped (B) and kmsKeyId (S) of that version,
//	    disabled (BOOL)
//	sk "X"                                tombstone, after Shred:
//	    epoch (N), shredded (N, Unix ms), complete (BOOL), reopened (BOOL),
//	    floor (M: class, "default" for "", → highest destroyed version)
//
// Class names are limited to [A-Za-z0-9._-] (no '#'), so sort keys are
// unambiguous; the default class is "". Creation is one TransactWriteItems:
// put version 1 if absent, put the pointer if absent, check that no
// tombstone exists. Rotation is one TransactWriteItems: put version N+1 if
// absent, update the pointer if its version is still N, check the
// tombstone. So two processes rotating at once yield two distinct versions
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
// # KMS calls
//
// Create and Rotate: one GenerateDataKeyWithoutPlaintext. First-use
// creation: one GenerateDataKey. CurrentKey or Key through a Cache: one
// Decrypt per (tenant, class, version) per process per TTL, however many
// goroutines ask at once; a cached CurrentKey also serves Key for its
// version. A service with 1,000 active tenants and a 5-minute TTL makes at
// most about 1,000 Decrypt calls per 5 minutes per process, whatever its
// item rate.
//
// # Errors
//
// Every error wraps one of the sentinels (ErrKeyNotFound, ErrKeyShredded,
// ErrKeyDisabled, ErrKMSUnavailable, ErrConflict, ErrKeyCorrupt,
// ErrAccessDenied, ErrInvalidName, ErrKeyring) or a context error; test
// with errors.Is. No error, log line or audit event contains key material.
package tenantkeys
