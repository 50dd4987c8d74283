// Package searchtest runs the repository methods dynaseal-gen generates
// for declared indexes, beacons, compound beacons, unique fields and
// composite keys against DynamoDB Local: generated code, real engine, real
// table.
package searchtest

import "time"

//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Customer,Ticket,Lead -table crm

// Customer is a tenant's customer, found by email (an encrypted field with
// a beacon, unique per tenant), by status and creation time (a signed
// index), by status and email together (a compound beacon), or by creation
// time within the tenant.
type Customer struct {
	Org     string    `dynamodbav:"org" seal:"pk,tenant"`
	ID      string    `dynamodbav:"id" seal:"sk"`
	Email   string    `dynamodbav:"email" seal:"encrypt,beacon,lower,trim,unique,index=byEmail"`
	Name    string    `dynamodbav:"name" seal:"encrypt"`
	Status  string    `dynamodbav:"status,omitempty" seal:"index=byStatus"`
	Created time.Time `dynamodbav:"created,unixtime" seal:"index=byStatus:sk"`
	_       struct{}  `seal:"compound=statusEmail,parts=status+email"`
	_       struct{}  `seal:"index=status-email,pk=statusEmail"`
	_       struct{}  `seal:"index=recent,pk=org,sk=created"`
	Version int64     `dynamodbav:"v" seal:"version"`
}

// Ticket has a composite key whose partition is not the tenant, so its
// repository also takes TicketKey structs; it is queried by priority.
type Ticket struct {
	Account  string `dynamodbav:"account" seal:"pk"`
	N        int64  `dynamodbav:"n" seal:"sk"`
	Org      string `dynamodbav:"org" seal:"tenant"`
	Priority int    `dynamodbav:"priority" seal:"index=priority-index"`
	Body     string `dynamodbav:"body" seal:"encrypt"`
}

// Lead has a 2-bit beacon on its email: with more than four distinct
// emails per tenant, beacons collide, and FindByEmail must still return
// exact matches only.
type Lead struct {
	Org   string   `dynamodbav:"org" seal:"pk,tenant"`
	ID    string   `dynamodbav:"id" seal:"sk"`
	Email string   `dynamodbav:"email" seal:"encrypt,beacon=2,lower,index=byEmail"`
	Score int      `dynamodbav:"score"`
	_     struct{} `seal:"compound=scoreEmail,parts=score+email"`
	_     struct{} `seal:"index=recent,pk=org,sk=scoreEmail"`
}
