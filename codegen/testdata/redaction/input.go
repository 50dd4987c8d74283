package redaction

// base is unexported and embedded by value; json flattens its exported
// fields, and one of them is encrypted.
type base struct {
	Secret string `dynamodbav:"secret" seal:"encrypt" json:"secret"`
	Open   string `dynamodbav:"open"`
}

// Vitals is embedded by pointer; flattened by both encoders.
type Vitals struct {
	Pulse int `dynamodbav:"pulse" seal:"encrypt"`
	Unit  string
}

// Label is an embedded non-struct type, encrypted as one attribute; json
// prints it under its type name.
type Label string

// Chart exercises the MarshalJSON mirror: flattened embedded structs by
// value and pointer, an embedded encrypted non-struct, json renames and
// skips, and a field named Reveal (so no Reveal method is generated).
type Chart struct {
	Clinic string `dynamodbav:"clinic" seal:"pk,tenant" json:"clinic"`
	base
	*Vitals
	Label  `dynamodbav:"label" seal:"encrypt"`
	Skip   string `dynamodbav:"skip" seal:"encrypt" json:"-"`
	Reveal bool   `dynamodbav:"reveal"`
	hidden int
}
