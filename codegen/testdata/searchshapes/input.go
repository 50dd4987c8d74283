package searchshapes

// Meta is embedded; its fields are the keys of index byRegion, one of them
// a pointer.
type Meta struct {
	Region string `dynamodbav:"region,omitempty" seal:"index=byRegion"`
	Rank   *int   `dynamodbav:"rank,omitempty" seal:"index=byRegion:sk"`
}

// Doc exercises odd shapes: index keys in an embedded struct, pointer
// fields as index keys and beacon sources (queried by their element type),
// fields whose argument names would shadow generated locals (err, parts,
// v), a []byte beacon that is also unique, and a compound of two beacons.
type Doc struct {
	T   string `dynamodbav:"t" seal:"pk,tenant"`
	V   string `dynamodbav:"v" seal:"sk"`
	Err []byte `dynamodbav:"err" seal:"encrypt,beacon,unique,index=byErr"`
	Meta
	Parts string   `dynamodbav:"parts" seal:"encrypt,beacon"`
	Label *string  `dynamodbav:"label,omitempty" seal:"encrypt,beacon,lower,index=byLabel"`
	_     struct{} `seal:"compound=c,parts=parts+err"`
	_     struct{} `seal:"index=1st,pk=c"`
}
