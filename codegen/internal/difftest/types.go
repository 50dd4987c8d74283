// Package difftest holds structs that exercise every encoding path of the
// generated codec, their generated code (committed, checked for staleness),
// and the differential tests and benchmarks that compare the generated codec
// with attributevalue's reflection codec.
package difftest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Reference,Scalars,Pointers,Collections,Embedding,Marshalers,Fallbacks -codec-only -output types_dynaseal.go

// Reference is the benchmark reference item of DESIGN.md.
type Reference struct {
	Tenant  string   `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string   `dynamodbav:"id" seal:"sk"`
	Name    string   `dynamodbav:"name" seal:"encrypt"`
	Email   string   `dynamodbav:"email" seal:"encrypt"`
	SSN     string   `dynamodbav:"ssn" seal:"encrypt"`
	Notes   string   `dynamodbav:"notes" seal:"encrypt"`
	Plan    string   `dynamodbav:"plan"`
	Created int64    `dynamodbav:"created"`
	Score   int      `dynamodbav:"score"`
	Tags    []string `dynamodbav:"tags,stringset"`
}

// MyString, MyInt, MyBytes and MyByte are named scalar types.
type (
	MyString string
	MyInt    int16
	MyFloat  float32
	MyBool   bool
	MyBytes  []byte
	MyByte   byte
)

// Scalars covers every scalar kind and the scalar tag options.
type Scalars struct {
	Tenant  string `dynamodbav:"tenant" seal:"pk,tenant"`
	S       string
	I       int
	I8      int8
	I16     int16
	I32     int32
	I64     int64
	U       uint
	U8      uint8
	U16     uint16
	U32     uint32
	U64     uint64
	F32     float32
	F64     float64
	B       bool
	Bytes   []byte
	OS      string  `dynamodbav:"os,omitempty"`
	OI      int     `dynamodbav:"oi,omitempty"`
	OF      float64 `dynamodbav:"of,omitempty"`
	OB      bool    `dynamodbav:"ob,omitempty"`
	OBytes  []byte  `dynamodbav:"obytes,omitempty"`
	NS      string  `dynamodbav:"ns,nullempty"`
	NI      uint32  `dynamodbav:"ni,nullempty"`
	NB      bool    `dynamodbav:"nb,nullempty"`
	ONS     string  `dynamodbav:"ons,omitempty,nullempty"`
	SI      int     `dynamodbav:"si,string"`
	SF      float64 `dynamodbav:"sf,string"`
	SF32    float32 `dynamodbav:"sf32,string"`
	SU      uint16  `dynamodbav:"su,string,omitempty"`
	SS      string  `dynamodbav:"sstr,string"`
	MyS     MyString
	MyI     MyInt
	MyF     MyFloat
	MyB     MyBool
	MyBy    MyBytes
	Num     attributevalue.Number
	JNum    json.Number `dynamodbav:"jnum,string"`
	T       time.Time
	TU      time.Time `dynamodbav:"tu,unixtime"`
	TO      time.Time `dynamodbav:"to,omitempty"`
	Ignored string    `dynamodbav:"-"`
	unexp   string
}

// Nested is a nested (non-embedded) struct, recursive through a pointer.
type Nested struct {
	A    string
	B    int `dynamodbav:"b,omitempty"`
	C    []string
	D    *Nested `dynamodbav:"d,omitempty"`
	T    time.Time
	Tags []string `dynamodbav:"tags,stringset,omitempty"`
}

// Pointers covers pointer fields.
type Pointers struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	PS     *string
	PI     *int
	PF     *float32
	PB     *bool
	PBytes *[]byte
	PT     *time.Time
	PTU    *time.Time `dynamodbav:"ptu,unixtime"`
	PSl    *[]string
	PSet   *[]string `dynamodbav:"pset,stringset"`
	PM     *map[string]int
	PN     *Nested
	N      Nested
	OPS    *string `dynamodbav:"ops,omitempty"`
	OPN    *Nested `dynamodbav:"opn,omitempty"`
	NPS    *string `dynamodbav:"nps,nullempty"`
	SPI    *int    `dynamodbav:"spi,string"`
	PMyS   *MyString
}

// Collections covers lists, sets and maps.
type Collections struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	L      []string
	LO     []string `dynamodbav:"lo,omitempty"`
	LOE    []string `dynamodbav:"loe,omitemptyelem"`
	LNE    []string `dynamodbav:"lne,nullemptyelem"`
	LI     []int
	LF     []float64
	LB     []bool
	LP     []*string
	LPO    []*string `dynamodbav:"lpo,omitemptyelem"`
	LL     [][]int
	LBy    [][]byte
	LMyBy  []MyBytes
	SS     []string                `dynamodbav:"ss,stringset"`
	SSO    []string                `dynamodbav:"sso,stringset,omitempty"`
	SSP    []*string               `dynamodbav:"ssp,stringset,omitemptyelem"`
	SSM    []MyString              `dynamodbav:"ssm,stringset"`
	SST    []time.Time             `dynamodbav:"sst,stringset"`
	NS     []int                   `dynamodbav:"ns,numberset"`
	NSF    []float64               `dynamodbav:"nsf,numberset"`
	NSU    []uint16                `dynamodbav:"nsu,numberset"`
	NSN    []attributevalue.Number `dynamodbav:"nsn,numberset"`
	BS     [][]byte                `dynamodbav:"bs,binaryset"`
	BSM    []MyBytes               `dynamodbav:"bsm,binaryset"`
	M      map[string]string
	MO     map[string]string  `dynamodbav:"mo,omitempty"`
	MOE    map[string]string  `dynamodbav:"moe,omitemptyelem"`
	MNE    map[string]*string `dynamodbav:"mne,nullemptyelem"`
	MI     map[int]string
	MI8    map[int8]bool
	MU     map[uint16]int
	MB     map[bool]int
	MF     map[float64]string
	MK     map[MyString]MyInt
	MM     map[string]map[string]int
	ML     map[string][]string
	MN     map[string]Nested
	MNP    map[string]*Nested
	LN     []Nested
	LNP    []*Nested
	BytesL []byte `dynamodbav:"bytesl"`
}

// Base is embedded by value.
type Base struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string `dynamodbav:"id" seal:"sk"`
	Shared string // shadowed by Embedding.Shared
	Dup    string // Extra.Dup is skipped, so this one is stored
	Deep
}

// Deep is embedded two levels down.
type Deep struct {
	Level int `dynamodbav:"level"`
}

// Extra is embedded by pointer.
type Extra struct {
	Note  string `dynamodbav:"note" seal:"encrypt"`
	Count int    `dynamodbav:"count,omitempty"`
	// Dup would conflict with Base.Dup at the same depth (attributevalue
	// stores neither; schema refuses that), so it is skipped.
	Dup string `dynamodbav:"-"`
}

// Embedding covers embedded structs, by value and by pointer.
type Embedding struct {
	Base
	*Extra
	Shared string
	Own    []string `dynamodbav:"own,stringset"`
}

// Upper is a marshaler with value receivers (called whether or not the
// value is addressable).
type Upper string

// MarshalDynamoDBAttributeValue stores the string upper-cased with a prefix.
func (u Upper) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	return &types.AttributeValueMemberS{Value: "U:" + strings.ToUpper(string(u))}, nil
}

// UnmarshalDynamoDBAttributeValue reads what Marshal wrote, or NULL.
func (u *Upper) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		*u = Upper(strings.ToLower(strings.TrimPrefix(v.Value, "U:")))
	case *types.AttributeValueMemberNULL:
		*u = "null"
	case *types.AttributeValueMemberSS:
		*u = Upper(strings.Join(v.Value, "+"))
	default:
		return errBadUpper
	}
	return nil
}

// Point is a marshaler with pointer receivers: attributevalue calls it only
// on addressable values.
type Point struct {
	X, Y int
}

// MarshalDynamoDBAttributeValue stores the point as a list of two numbers.
func (p *Point) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	if p.X < 0 {
		return nil, errBadPoint
	}
	if p.X == 7 {
		return nil, nil // falls through to the struct encoding
	}
	return &types.AttributeValueMemberL{Value: []types.AttributeValue{
		&types.AttributeValueMemberN{Value: itoa(p.X)}, &types.AttributeValueMemberN{Value: itoa(p.Y)},
	}}, nil
}

// UnmarshalDynamoDBAttributeValue reads what Marshal wrote.
func (p *Point) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	l, ok := av.(*types.AttributeValueMemberL)
	if !ok || len(l.Value) != 2 {
		if _, ok := av.(*types.AttributeValueMemberM); ok {
			p.X, p.Y = 7, 7
			return nil
		}
		return errBadPoint
	}
	var err error
	for i, dst := range []*int{&p.X, &p.Y} {
		n, ok := l.Value[i].(*types.AttributeValueMemberN)
		if !ok {
			return errBadPoint
		}
		if *dst, err = atoi(n.Value); err != nil {
			return err
		}
	}
	return nil
}

// Marshalers covers types with their own attributevalue (un)marshalers.
type Marshalers struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	U      Upper
	UO     Upper `dynamodbav:"uo,omitempty"`
	PU     *Upper
	P      Point
	PP     *Point
	LU     []Upper
	LP     []Point
	MU     map[string]Upper
	MP     map[string]Point // map values are not addressable: no marshaler
	SU     []Upper          `dynamodbav:"su,stringset"`
}

// Fallbacks covers the types delegated to attributevalue.
type Fallbacks struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	Any    any
	MAny   map[string]any `dynamodbav:"many,omitempty"`
	LAny   []any
	Arr    [3]int
	ArrB   [4]byte
	PP     **string
	Stamp  Stamp
	MT     map[Key]int
}

// Stamp is convertible to time.Time: attributevalue encodes it as a time.
type Stamp time.Time

// Key is a map key type with text methods.
type Key struct{ A, B string }

// MarshalText implements encoding.TextMarshaler.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.A + "/" + k.B), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Key) UnmarshalText(b []byte) error {
	a, c, _ := strings.Cut(string(b), "/")
	k.A, k.B = a, c
	return nil
}
