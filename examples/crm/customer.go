package main

import "time"

//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Customer -table crm-customers

// Customer is one customer of a company (the tenant). The email is
// encrypted, yet searchable through its beacon (FindByEmail), unique per
// company (GetByEmail, duplicate creates refused) and, with the status, part
// of a compound beacon (FindByStatusEmail). The status and the date the
// customer joined form a declared index on signed attributes
// (QueryByStatus).
type Customer struct {
	Company string    `dynamodbav:"company" seal:"pk,tenant"`
	ID      string    `dynamodbav:"id" seal:"sk"`
	Email   string    `dynamodbav:"email" seal:"encrypt,beacon,lower,trim,unique,index=byEmail"`
	Name    string    `dynamodbav:"name" seal:"encrypt"`
	Status  string    `dynamodbav:"status,omitempty" seal:"index=byStatus"`
	Since   time.Time `dynamodbav:"since,unixtime" seal:"index=byStatus:sk"`
	_       struct{}  `seal:"compound=statusEmail,parts=status+email"`
	_       struct{}  `seal:"index=byStatusEmail,pk=statusEmail"`
	Version int64     `dynamodbav:"v" seal:"version"`
}
