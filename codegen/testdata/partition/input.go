package partition

// Device is keyed by its serial number alone; the tenant is a separate,
// signed attribute (the engine adds a tenant condition to every call).
type Device struct {
	Serial  string `dynamodbav:"serial" seal:"pk"`
	Org     string `dynamodbav:"org" seal:"tenant"`
	Secret  []byte `dynamodbav:"secret" seal:"encrypt"`
	Enabled bool   `dynamodbav:"enabled"`
	Temp    uint8  `dynamodbav:"temp,string"`
}
