// Package codegen is dynaseal's code generator, the library behind the
// dynaseal-gen command. For each tagged struct type it writes one Go file
// with a reflection-free codec and a typed, tenant-scoped repository:
//
//	//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Patient -table patients
//
// writes patient_dynaseal.go next to the type. Generate is a pure function
// from a loaded package (Load, or FromPackages for a package loaded with
// golang.org/x/tools/go/packages) and Options to the formatted file; the
// command adds flag parsing (ParseArgs) and the file write (WriteFile).
//
// # What is generated
//
//   - <T>Codec, a table.Codec[T] (and table.Versioner[T] when T has a version
//     attribute). Marshal produces exactly the item attributevalue.MarshalMap
//     produces for a *T with default encoder options, and Unmarshal accepts
//     exactly what attributevalue.UnmarshalMap accepts, with the same result.
//     Both are checked differentially in codegen/internal/difftest.
//   - <T>Fingerprint and <T>Codec.Check, the staleness guards (below).
//   - LogValue (slog), Format and String (fmt) and MarshalJSON
//     (encoding/json): encrypted attributes print as [REDACTED], the others
//     as their values. MarshalJSON prints what encoding/json prints for the
//     struct (json tags, embedding and options apply), with the fields that
//     hold encrypted attributes replaced. Slices, maps, pointers,
//     table.Page and structs holding T call these methods per element, so
//     redaction holds inside them too: fmt and slog's TextHandler through
//     Format, slog's JSONHandler through MarshalJSON. Format and String
//     change what fmt prints for T (%v, %+v, %#v, %s all redact); pass
//     -no-redact-format to keep fmt's default output, and -no-redact-json to
//     keep encoding/json's. A method the type already declares is never
//     generated (MarshalJSON is not generated either when T has
//     MarshalText). fmt cannot call methods on an unexported field, so a T
//     held in an unexported field of another struct prints in clear through
//     fmt and slog's TextHandler.
//   - UnmarshalJSON, beside MarshalJSON: it decodes as encoding/json
//     would, but refuses (genrt.ErrRedacted) JSON in which an encrypted
//     field holds the [REDACTED] marker, so JSON written by MarshalJSON (a
//     cache, a queue) never turns back into an item that would overwrite
//     the stored values with the marker.
//   - <T>Revealed (T without these methods) and T.Reveal, the explicit way
//     to print or marshal decrypted values, for example in an API response:
//     json.Marshal(p.Reveal()).
//   - <T>Key, <T>Repository (New<T>Repository with -table,
//     New<T>RepositoryNamed) and <T>Scope, whose Get, Delete, Update, TxGet,
//     TxDelete, TxUpdate and TxConditionCheck take the key fields as typed
//     arguments (the partition key is omitted when it is the tenant
//     attribute: the scope supplies it), plus Put, Create, Query,
//     QueryPage and Count (verified items) with typed sort-key conditions
//     (<T><Field>Equal, LessThan, LessOrEqual, GreaterThan, GreaterOrEqual,
//     Between, BeginsWith),
//     BatchGet, BatchWrite, TxPut and TxCreate; the repository's OpenImage
//     opens one stored image read elsewhere (a DynamoDB Streams record's
//     NewImage or OldImage, an export) with the generated codec. All of it
//     calls the table package; none of its logic is duplicated.
//
// # Supported field types
//
// Generated code handles: strings, bool, every integer and float width, the
// `string` option on numbers, []byte (B), json.Number-like string types (N),
// time.Time (RFC 3339 text, or N with `unixtime`), pointers, slices (L),
// sets (`stringset`, `numberset`, `binaryset`, and [][]byte), maps with
// string, bool or number keys (M; keys printed as attributevalue prints
// them), structs of the same package (nested M), embedded structs by value
// or pointer (flattened as attributevalue does, following schema's field
// paths), types with attributevalue Marshaler/Unmarshaler methods (called
// exactly where attributevalue calls them), omitempty, omitemptyelem,
// nullempty, nullemptyelem and "-".
//
// Delegated to attributevalue, field by field (still exact, not
// reflection-free): interfaces, arrays, pointers to pointers, named pointer
// types, maps whose key type has text methods, struct types of other
// packages, struct types convertible to time.Time, and generic struct types.
//
// Refused with file:line:column, type, field and reason: channels,
// functions, complex numbers, uintptr and unsafe.Pointer anywhere in a
// field's type, and attribute names claimed by two fields (attributevalue
// silently drops them; package schema refuses them, at run time too), slices of a named byte type (attributevalue
// panics on them), map keys attributevalue cannot use, set tags on types
// whose elements are not set members, the `string` option on time.Time
// (attributevalue cannot decode what it writes), seal tags inside nested
// structs (they would have no effect), and every problem schema reports
// (bad seal tags, unexported tagged fields, reserved names, missing keys).
//
// # Index, search and key-struct methods
//
// The repository also has, from the key schema and the search declarations
// (package schema):
//
//   - For a composite key (two key arguments, which are easy to swap), the
//     same operations taking a <T>Key struct: GetKey, DeleteKey, UpdateKey,
//     TxGetKey, TxDeleteKey, TxUpdateKey, TxConditionCheckKey. The
//     positional methods stay.
//   - For each index declared in the tags (seal:"index=NAME[:sk]" on a
//     field, or _ struct{} `seal:"index=NAME,pk=A,sk=B"`) whose keys are
//     signed, plain or tenant attributes: QueryBy<Index>, QueryBy<Index>Page
//     and CountBy<Index>, with the partition value as the key field's Go
//     type (none when it is the tenant) and a typed sort condition when
//     the index has a sort key (<T><Field>Equal and friends). The Go name
//     of an index drops a leading "by" and a trailing "index": "byStatus"
//     and "status-index" both give QueryByStatus.
//   - For each beacon (seal:"encrypt,beacon") with an index keyed on it:
//     FindBy<Field> and FindBy<Field>Page; for each compound beacon
//     (_ struct{} `seal:"compound=NAME,parts=a+b"`) with an index that
//     serves it: FindBy<Name> and FindBy<Name>Page taking every part as
//     its field's Go type (a pointer field's element type); for each
//     unique field: GetBy<Field>. They call
//     table.Scope.Find, FindCompound and GetUnique, which verify, decrypt
//     and return exact matches only. An index keyed on a beacon or a
//     compound gets no QueryBy method (its FindBy methods search it). Two
//     of these methods with one name (indexes "byStatus" and "status", say)
//     are refused at generation.
//
// # Staleness
//
// A generated file fails to compile when a field of a struct it was
// generated from is added, removed, renamed or changes type: it converts a
// value of each such struct to a struct literal with the fields it saw.
// Conversions ignore struct tags, so tag changes are caught at run time
// instead: New<T>Repository calls <T>Codec.Check, which compares every
// field's dynamodbav and seal tags (genrt.ItemTag; json and other keys
// never change the item, so they never make the file stale) and the schema
// fingerprint with what the generator saw and returns an error wrapping
// genrt.ErrStale ("run go generate").
//
// One generate directive per type in a package works: Load hides every
// file of the package that dynaseal-gen wrote (by its header), so another
// type's stale output never stops a run. The test
// TestGeneratedFilesAreFresh regenerates every committed generated file of
// this repository and fails with a diff when one is stale.
package codegen
