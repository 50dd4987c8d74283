// Package redacttest checks the redaction dynaseal-gen generates: fmt, slog
// (text and JSON handlers) and encoding/json print no encrypted value of a
// generated type, at the top level or inside slices, maps, pointers,
// table.Page and other structs, while Reveal prints everything.
package redacttest

//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Record -codec-only

// Address is a nested struct, encrypted as a whole.
type Address struct {
	Street string `json:"street"`
	City   string
}

// Audit is embedded by pointer and flattened by both attributevalue and
// json: its note is encrypted, its author is not.
type Audit struct {
	Note string `dynamodbav:"note" seal:"encrypt"`
	By   string `dynamodbav:"by"`
}

// Info is embedded by value and flattened by attributevalue, but json nests
// it under "info" (its json tag names it), so json redacts it as a whole.
type Info struct {
	Diagnosis string `dynamodbav:"diag" seal:"encrypt"`
	Code      string `dynamodbav:"code"`
}

// Record has encrypted fields of many shapes, with json tags that rename,
// omit and quote.
type Record struct {
	Tenant string             `dynamodbav:"tenant" seal:"pk,tenant" json:"tenant"`
	ID     string             `dynamodbav:"id" seal:"sk"`
	Name   string             `dynamodbav:"name" seal:"encrypt" json:"name,omitempty"`
	Salary int64              `dynamodbav:"salary" seal:"encrypt" json:",string"`
	Home   Address            `dynamodbav:"home" seal:"encrypt"`
	Scores map[string]float64 `dynamodbav:"scores" seal:"encrypt" json:"scores,omitzero"`
	Tags   []string           `dynamodbav:"tags" seal:"encrypt"`
	Hidden string             `dynamodbav:"hidden" seal:"encrypt" json:"-"`
	*Audit
	Info    `json:"info"`
	Plan    string `dynamodbav:"plan" json:"plan"`
	Version int64  `dynamodbav:"v" seal:"version"`
}
