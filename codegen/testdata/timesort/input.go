package timesort

import "time"

// Event is sorted by time (unix seconds) within a tenant and partition.
type Event struct {
	Stream string    `dynamodbav:"stream" seal:"pk"`
	At     time.Time `dynamodbav:"at,unixtime" seal:"sk"`
	Org    string    `dynamodbav:"org" seal:"tenant"`
	Body   string    `dynamodbav:"body" seal:"encrypt"`
}

// Counter is sorted by a number.
type Counter struct {
	Tenant string  `dynamodbav:"tenant" seal:"pk,tenant"`
	Seq    int64   `dynamodbav:"seq" seal:"sk"`
	Value  float64 `dynamodbav:"value"`
}
