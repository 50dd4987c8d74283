package searchshapes

// Meta is embedded; its fields are the keys of index byRegion.
type Meta struct {
	Region string `dynamodbav:"region,omitempty" seal:"index=byRegion"`
	Rank   int    `dynamodbav:"rank,omitempty" seal:"index=byRegion:sk"`
}

// Doc exercises odd shapes: index keys in an embedded struct, fields whose
// argument names would shadow generated locals (err, parts, v), a []byte
// beacon that is also unique, and a compound of two beacons.
type Doc struct {
	T   string `dynamodbav:"t" seal:"pk,tenant"`
	V   string `dynamodbav:"v" seal:"sk"`
	Err []byte `dynamodbav:"err" seal:"encrypt,beacon,unique,index=e"`
	Meta
	Parts string   `dynamodbav:"parts" seal:"encrypt,beacon"`
	_     struct{} `seal:"compound=c,parts=parts+err"`
	_     struct{} `seal:"index=1st,pk=c"`
}
