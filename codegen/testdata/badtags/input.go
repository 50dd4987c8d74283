package badtags

// Bad has one problem per field.
type Bad struct {
	Tenant  string `dynamodbav:"tenant" seal:"pk,tenant,encrypt"`
	ID      string `dynamodbav:"id" seal:"sk,frobnicate"`
	hidden  string `seal:"encrypt"`
	Sig     string `dynamodbav:"_s"`
	Skipped string `dynamodbav:"-" seal:"encrypt"`
}
