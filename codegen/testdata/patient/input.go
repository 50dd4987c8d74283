package patient

import "time"

// Patient is DESIGN.md's example struct.
type Patient struct {
	TenantID string    `dynamodbav:"tenant"  seal:"pk,tenant"`
	ID       string    `dynamodbav:"id"      seal:"sk"`
	Name     string    `dynamodbav:"name"    seal:"encrypt"`
	SSN      string    `dynamodbav:"ssn"     seal:"encrypt"`
	Plan     string    `dynamodbav:"plan"`
	Seen     time.Time `dynamodbav:"seen"    seal:"plain"`
	Version  int64     `dynamodbav:"v"       seal:"version"`
}
