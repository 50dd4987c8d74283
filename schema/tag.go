package schema

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// SealTagKey is the struct tag key dynaseal reads.
const SealTagKey = "seal"

// DynamoTagKey is the struct tag key attributevalue reads.
const DynamoTagKey = "dynamodbav"

// SealTag is a parsed `seal` struct tag.
type SealTag struct {
	PartitionKey bool
	SortKey      bool
	Tenant       bool
	Version      bool
	// Action is what happens to the attribute; ActionSign unless the tag
	// says encrypt or plain.
	Action attrcrypt.Action
	// BeaconBits is the length of the field's beacon (option beacon or
	// beacon=N); 0 when the field has none.
	BeaconBits int
	// Unique keeps the field's value unique per tenant (option unique).
	Unique bool
	// Normalize is how beacons and claims see the value (options lower,
	// trim).
	Normalize attrcrypt.Normalization
	// Indexes lists the secondary indexes the field is a key of (options
	// index=NAME for the partition key, index=NAME:sk for the sort key).
	Indexes []IndexKey
}

// IndexKey says that a field is a key of a declared secondary index.
type IndexKey struct {
	// Index is the index name.
	Index string
	// Sort is true for the index's sort key, false for its partition key.
	Sort bool
}

// DefaultBeaconBits is the beacon length of a bare beacon option: good for
// up to about 65,000 distinct values per tenant (see README, beacon length).
const DefaultBeaconBits = 16

// ParseSealTag parses the value of a `seal` tag. The empty string is a
// signed attribute. Options are comma separated; an unknown, repeated or
// contradictory option is an error.
func ParseSealTag(tag string) (SealTag, error) { return parseSealTag(tag, "name") }

// parseSealTag is ParseSealTag; attr is the attribute's name, for the hint
// on a dynamodbav option written in the seal tag.
func parseSealTag(tag, attr string) (SealTag, error) {
	var st SealTag
	if strings.TrimSpace(tag) == "" {
		return st, nil
	}
	seen := map[string]bool{}
	actions := 0
	for _, opt := range strings.Split(tag, ",") {
		opt = strings.TrimSpace(opt)
		if opt == "" {
			return st, fmt.Errorf("empty option in seal tag %q", tag)
		}
		if seen[opt] {
			return st, fmt.Errorf("option %q repeated in seal tag %q", opt, tag)
		}
		seen[opt] = true
		switch opt {
		case "pk":
			st.PartitionKey = true
		case "sk":
			st.SortKey = true
		case "tenant":
			st.Tenant = true
		case "version":
			st.Version = true
		case "encrypt":
			st.Action = attrcrypt.ActionEncrypt
			actions++
		case "plain":
			st.Action = attrcrypt.ActionPlain
			actions++
		case "sign":
			st.Action = attrcrypt.ActionSign
			actions++
		case "beacon":
			if st.BeaconBits != 0 {
				return st, fmt.Errorf("option beacon repeated in seal tag %q", tag)
			}
			st.BeaconBits = DefaultBeaconBits
		case "unique":
			st.Unique = true
		case "lower":
			st.Normalize |= attrcrypt.NormalizeLower
		case "trim":
			st.Normalize |= attrcrypt.NormalizeTrim
		default:
			if v, ok := strings.CutPrefix(opt, "beacon="); ok {
				if seen["beacon"] || st.BeaconBits != 0 {
					return st, fmt.Errorf("option beacon repeated in seal tag %q", tag)
				}
				n, err := strconv.Atoi(v)
				if err != nil || n < attrcrypt.MinBeaconBits || n > attrcrypt.MaxBeaconBits {
					return st, fmt.Errorf("option %q in seal tag %q: the beacon length must be a number of bits from %d to %d", opt, tag, attrcrypt.MinBeaconBits, attrcrypt.MaxBeaconBits)
				}
				st.BeaconBits = n
				continue
			}
			if v, ok := strings.CutPrefix(opt, "index="); ok {
				name, role, _ := strings.Cut(v, ":")
				if name == "" || (role != "" && role != "sk" && role != "pk") {
					return st, fmt.Errorf("option %q in seal tag %q: want index=NAME (partition key) or index=NAME:sk (sort key)", opt, tag)
				}
				st.Indexes = append(st.Indexes, IndexKey{Index: name, Sort: role == "sk"})
				continue
			}
			if dynamoOptions[opt] {
				return st, fmt.Errorf("option %q in seal tag %q belongs in the dynamodbav tag (dynamodbav:\"%s,%s\"); the seal tag takes pk, sk, tenant, version, encrypt, sign, plain, beacon, unique, lower, trim or index=NAME", opt, tag, attr, opt)
			}
			return st, fmt.Errorf("unknown option %q in seal tag %q (want pk, sk, tenant, version, encrypt, sign, plain, beacon[=BITS], unique, lower, trim or index=NAME[:sk])", opt, tag)
		}
	}
	if actions > 1 {
		return st, fmt.Errorf("seal tag %q names more than one of encrypt, sign, plain", tag)
	}
	if st.PartitionKey && st.SortKey {
		return st, fmt.Errorf("seal tag %q marks one field as both pk and sk", tag)
	}
	return st, nil
}

// DynamoTag is a parsed `dynamodbav` struct tag, read exactly as
// attributevalue reads it: the first element is the name ("-" skips the
// field) and unknown options are ignored.
type DynamoTag struct {
	Name          string
	Ignore        bool
	OmitEmpty     bool
	OmitEmptyElem bool
	NullEmpty     bool
	NullEmptyElem bool
	AsString      bool
	AsBinarySet   bool
	AsNumberSet   bool
	AsStringSet   bool
	AsUnixTime    bool
}

// ParseDynamoTag parses the value of a `dynamodbav` tag.
func ParseDynamoTag(tag string) DynamoTag {
	var t DynamoTag
	if tag == "" {
		return t
	}
	parts := strings.Split(tag, ",")
	if parts[0] == "-" {
		t.Ignore = true
	} else {
		t.Name = parts[0]
	}
	for _, opt := range parts[1:] {
		switch opt {
		case "omitempty":
			t.OmitEmpty = true
		case "omitemptyelem":
			t.OmitEmptyElem = true
		case "nullempty":
			t.NullEmpty = true
		case "nullemptyelem":
			t.NullEmptyElem = true
		case "string":
			t.AsString = true
		case "binaryset":
			t.AsBinarySet = true
		case "numberset":
			t.AsNumberSet = true
		case "stringset":
			t.AsStringSet = true
		case "unixtime":
			t.AsUnixTime = true
		}
	}
	return t
}
