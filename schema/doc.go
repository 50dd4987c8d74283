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
// The same traversal serves run time (FromReflect, For) and the code
// generator (FromGoType, over go/types), and both call ParseSealTag and
// ParseDynamoTag, so the two can never disagree about a struct.
package schema
