package unstorable

// Named is embedded: its Name collides with Lossy.Title's attribute name.
type Named struct {
	Name string `dynamodbav:"name"`
}

// Lossy has fields attributevalue would silently drop; schema refuses them
// at generate time, with the same reasons as at run time.
type Lossy struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	Named
	Title string              `dynamodbav:"name"`
	A     string              `dynamodbav:"dup"`
	B     string              `dynamodbav:"dup"`
	Ch    chan int            `dynamodbav:"ch"`
	Fn    func()              `dynamodbav:"fn"`
	C     complex128          `dynamodbav:"c"`
	L     []map[string]func() `dynamodbav:"l"`
	Note  string              `dynamodbav:"note" seal:"encrypt,omitempty"`
}
