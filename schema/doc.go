// Package schema models one dynaseal item type: its table keys, tenant and
// version attributes, and the crypto action of every attribute.
//
// A Schema is built from a tagged Go struct. Names, omitempty and set
// encodings come from the standard `dynamodbav` tag, read exactly as
// attributevalue reads it (including its embedded-struct rules); a second
// tag, `seal`, says what dynaseal does with the field:
//
//	type Patient struct {
//		TenantID string    `dynamodbav:"tenant" seal:"pk,tenant"`
//		ID       string    `dynamodbav:"id"     seal:"sk"`
//		Name     string    `dynamodbav:"name"   seal:"encrypt"`
//		Plan     string    `dynamodbav:"plan"`               // signed, stored in plaintext
//		Seen     time.Time `dynamodbav:"seen"   seal:"plain"` // neither encrypted nor signed
//		Version  int64     `dynamodbav:"v"      seal:"version"`
//	}
//
// seal options: pk, sk, tenant, version (roles) and encrypt, sign, plain
// (actions). A field without a seal tag is signed: nothing is left
// unprotected unless `plain` is asked for. Key, tenant and version fields are
// always signed and never encrypted, because DynamoDB (or the optimistic-lock
// condition) must read them.
//
// Build refuses, with the type, field and reason, every struct whose item
// would silently lose data, because attributevalue drops it without an
// error:
//
//   - a field whose type attributevalue never stores (chan, func, complex,
//     unsafe.Pointer, uintptr), at the top or anywhere inside (a slice
//     element, a map value, a field of a nested struct), unless the type has
//     its own MarshalDynamoDBAttributeValue;
//   - two fields claiming one attribute name (through embedded structs too).
//     attributevalue follows encoding/json: the shallowest field wins, then
//     the single tagged one at that depth; otherwise it stores none of them.
//     A name nobody wins is refused. A losing field is refused unless Go
//     hides it as well (v.Name reaches another field of the same Go name,
//     the deliberate override of an embedded struct's field), and even then
//     when it carries a seal tag, which would have no effect;
//   - a seal option in the dynamodbav tag (attributevalue ignores it, so
//     dynamodbav:"ssn,encrypt" would not encrypt) and a dynamodbav option in
//     the seal tag (the error says where omitempty belongs).
//
// The same traversal serves run time (FromReflect, For) and the code
// generator (FromGoType, over go/types), and both call ParseSealTag and
// ParseDynamoTag, so the two can never disagree about a struct.
//
// A tool without the application's Go types (the dynaseal command's
// migrate job) describes an item type in a small JSON file instead
// (ParseSpec, FromSpec): keys, tenant, version and each attribute's action.
// The spec goes through the same walk and checks as a struct with those
// tags, so it yields the same Actions and Fingerprint.
package schema
