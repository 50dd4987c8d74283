package unsupported

// Inner is nested; a seal tag inside has no effect and is refused.
type Inner struct {
	Secret string `seal:"encrypt"`
}

// Odd has fields the generator refuses with a positioned error (types
// attributevalue drops are refused by schema: see ../unstorable).
type Odd struct {
	Tenant string          `dynamodbav:"tenant" seal:"pk,tenant"`
	Set    []int           `dynamodbav:"set,stringset"`
	Tags   string          `dynamodbav:"tags,stringset"`
	In     Inner           `dynamodbav:"in"`
	PtrKey map[*string]int `dynamodbav:"pk"`
}
