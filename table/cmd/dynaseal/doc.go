// Command dynaseal administers dynaseal tables and tenant keys without the
// application's Go types: key administration, item inspection, per-tenant
// export, and the resumable table jobs (re-encrypt, sweep, purge, migrate).
//
//	go install github.com/dynaseal/dynaseal/table/cmd/dynaseal@latest
//
// # Configuration
//
// AWS comes from the SDK's standard configuration (AWS_REGION, AWS_PROFILE,
// the shared config and credentials files, SSO, instance and task roles),
// with --region and --profile, and --endpoint-url (DynamoDB) and
// --kms-endpoint-url (KMS) to point at DynamoDB Local or a local KMS.
// Tenant keys live in the key store table --key-table, wrapped by one of
// --kms-key (a KMS key id, ARN or alias shared by every tenant),
// --kms-alias-pattern (alias/tenant-{tenant}) or --master-key-file (a local
// master key file, tenantkeys.LoadKeyringFile). Data commands take --table,
// --tenant-attr (default "tenant"), --logical-name (the name bound into
// signatures, after a restore under a new name) and --class (key class).
// DYNASEAL_TABLE, DYNASEAL_KEY_TABLE, DYNASEAL_KMS_KEY and
// DYNASEAL_MASTER_KEY_FILE give defaults. Flags may come before or after
// the command name; --json prints JSON for scripts.
//
// # Commands
//
//	keys create-table|create|rotate|versions|disable|enable|retire|rewrap|shred|reopen
//	inspect   --pk V [--sk V] [--show-values]
//	export    --tenant T [--dynamodb-json]
//	reencrypt [--tenant T]
//	sweep     [--tenant T]
//	purge     --tenant T --yes
//	migrate   --encrypt a,b [--plain c] [--create-keys] | --schema file.json
//	checkpoints create-table|show
//
// shred, retire and purge need --yes. inspect prints an item's header (the
// key it names, the recorded action of every covered attribute, the plain
// names, its size) and whether it verifies, never a value unless
// --show-values asks for the decrypted item after it verified. export
// writes a tenant's verified items, decrypted, as JSON lines on stdout and
// reports every item that does not verify on stderr by its key.
//
// The data commands read items without a Go type: the table's key schema
// comes from DescribeTable, and every item is verified and opened with the
// actions its own header records (attrcrypt's recorded actions). One
// tenant's items are read through its partition, or a global secondary
// index keyed on the tenant attribute (found from DescribeTable), or, with
// --scan, a filtered scan of the whole table. Only migrate needs actions:
// --encrypt and --plain name them (every other attribute is signed), or
// --schema names a schema file (the JSON form schema.ParseSpec reads), with
// which sweep also reports items whose recorded actions drift from it.
//
// # Jobs
//
// reencrypt, sweep, purge and migrate run on table.Admin and share these
// flags: --segment i --segments N (run segment i of a DynamoDB parallel
// scan; give each worker its own i), --all-segments (every segment in this
// process), --checkpoint file://DIR or dynamodb://TABLE with --job-id
// (progress is saved after every page; a run with the id of a job that has
// checkpoints is refused unless --resume continues it), --rate N (items
// per second), --page-size, --consistent-read. Progress goes to stderr: a
// bar redrawn in place when stderr is a terminal, plain lines every ten
// seconds otherwise (--progress auto|bar|lines|none). Per-item findings
// (tampered, unverifiable, stale, failed...; with --verbose also every
// item written or deleted) go to stdout by key, never by value, then the
// counts.
//
// # Exit status
//
// 0: done, every item fine (for inspect: the item verifies); 1: an error,
// or items that failed or did not verify (listed); 2: a usage error or a
// refused confirmation; 3: a job stopped before its end (a signal or a
// deadline): run it again with --resume.
//
// # Examples
//
// Against DynamoDB Local and a local master key (the SDK still wants
// credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to anything):
//
//	dynaseal keys create-table --endpoint-url http://localhost:8000 --key-table tenant-keys
//	dynaseal keys create --endpoint-url http://localhost:8000 --key-table tenant-keys \
//	    --master-key-file ./master.key --tenant acme
//	dynaseal inspect --endpoint-url http://localhost:8000 --key-table tenant-keys \
//	    --master-key-file ./master.key --table patients --pk acme --sk p-1
//
// Against AWS with a KMS key:
//
//	dynaseal keys rotate --key-table tenant-keys --kms-key alias/dynaseal --tenant acme
//	dynaseal reencrypt --key-table tenant-keys --kms-key alias/dynaseal --table patients \
//	    --segment 0 --segments 4 --checkpoint dynamodb://dynaseal-jobs --job-id reenc-1 --rate 500
//	dynaseal keys retire --key-table tenant-keys --kms-key alias/dynaseal --tenant acme --below 2 --yes
//	dynaseal export --key-table tenant-keys --kms-key alias/dynaseal --table patients --tenant acme > acme.jsonl
package main
