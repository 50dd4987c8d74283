package embedded

// Audit is embedded by pointer; its fields are flattened into the item.
type Audit struct {
	Rev     int32  `dynamodbav:"rev" seal:"version"`
	Creator string `dynamodbav:"creator,omitempty"`
}

// Owner is embedded by value.
type Owner struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
}

// Address is a nested struct.
type Address struct {
	Street string   `dynamodbav:"street"`
	Zip    string   `dynamodbav:"zip,omitempty"`
	Lines  []string `dynamodbav:"lines,omitemptyelem"`
}

// Order embeds two structs and nests another.
type Order struct {
	Owner
	*Audit
	OrderID  string             `dynamodbav:"order_id" seal:"sk"`
	Ship     Address            `dynamodbav:"ship" seal:"encrypt"`
	Previous []Address          `dynamodbav:"prev,omitempty"`
	Codes    map[string]float64 `dynamodbav:"codes" seal:"encrypt"`
	Card     *string            `dynamodbav:"card,nullempty" seal:"encrypt"`
	Labels   []string           `dynamodbav:"labels,stringset,omitempty"`
	Weights  []int              `dynamodbav:"weights,numberset"`
	Blobs    [][]byte           `dynamodbav:"blobs"`
}
