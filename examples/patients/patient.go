// Package patients is a small example of dynaseal's code generator: a
// Patient record whose name and SSN are encrypted per tenant, with a
// generated reflection-free codec and a typed, tenant-scoped repository.
package patients

import "time"

//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Patient -table patients

// Patient is one patient record of a clinic (the tenant).
type Patient struct {
	TenantID string    `dynamodbav:"tenant"  seal:"pk,tenant"`
	ID       string    `dynamodbav:"id"      seal:"sk"`
	Name     string    `dynamodbav:"name"    seal:"encrypt"`
	SSN      string    `dynamodbav:"ssn"     seal:"encrypt"`
	Plan     string    `dynamodbav:"plan"`                 // signed, stored in plaintext
	Seen     time.Time `dynamodbav:"seen"    seal:"plain"` // neither encrypted nor signed
	Version  int64     `dynamodbav:"v"       seal:"version"`
}
