package singleton

// Settings is one item per tenant: the partition key is the tenant and
// there is no sort key.
type Settings struct {
	Tenant  string          `dynamodbav:"tenant" seal:"pk,tenant"`
	APIKey  string          `dynamodbav:"api_key" seal:"encrypt"`
	Flags   map[string]bool `dynamodbav:"flags,omitempty"`
	Limits  map[int]uint64  `dynamodbav:"limits"`
	Extra   map[string]any  `dynamodbav:"extra,omitempty" seal:"encrypt"`
	Version uint32          `dynamodbav:"version" seal:"version"`
}
