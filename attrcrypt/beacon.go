package attrcrypt

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Normalization says how a value is normalised before a beacon or a claim
// tag is computed from it. It applies to strings only (FORMAT.md section 16).
type Normalization uint8

const (
	// NormalizeTrim removes leading and trailing Unicode white space.
	NormalizeTrim Normalization = 1 << iota
	// NormalizeLower maps the string to lower case (Unicode simple case
	// mapping, as Go's strings.ToLower), after trimming.
	NormalizeLower
)

// Beacon bit lengths accepted by Beacon.
const (
	MinBeaconBits = 2
	MaxBeaconBits = 64
)

// ClaimTagBits is the length of a unique-value claim tag: long enough that
// two distinct values never share a claim.
const ClaimTagBits = 128

// IndexSeparator separates the tenant from the beacon text in a stored
// beacon value, and the parts of a compound beacon. Tenant ids cannot hold
// control characters, so "tenant + IndexSeparator + beacon" is unambiguous.
const IndexSeparator = "\x1f"

// NormalizedValue returns the bytes a beacon or claim tag is computed
// from: a type byte ('S', 'N' or 'B') followed by the normalised string,
// the canonical number text, or the binary value. Two values are equal for
// search exactly when their normalised bytes are equal, which is also how
// a search filters truncation collisions after verification.
func NormalizedValue(v types.AttributeValue, norm Normalization) ([]byte, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		s := v.Value
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("%w: searchable string is not valid UTF-8", ErrMalformed)
		}
		if norm&NormalizeTrim != 0 {
			s = strings.TrimSpace(s)
		}
		if norm&NormalizeLower != 0 {
			s = strings.ToLower(s)
		}
		return append([]byte{'S'}, s...), nil
	case *types.AttributeValueMemberN:
		c, err := CanonicalNumber(v.Value)
		if err != nil {
			return nil, err
		}
		return append([]byte{'N'}, c...), nil
	case *types.AttributeValueMemberB:
		return append([]byte{'B'}, v.Value...), nil
	case nil:
		return nil, fmt.Errorf("%w: searchable value is nil", ErrMalformed)
	default:
		return nil, fmt.Errorf("%w: searchable value must be a string, number or binary, not %T", ErrMalformed, v)
	}
}

// searchKey derives the per-table, per-attribute key of a beacon or claim
// tag from a tenant's beacon key.
func searchKey(key Key, purpose, table, attr string) ([]byte, error) {
	info := make([]byte, 0, len(purpose)+8+len(table)+len(attr))
	info = append(info, purpose...)
	info = binary.BigEndian.AppendUint32(info, uint32(len(table)))
	info = append(info, table...)
	info = binary.BigEndian.AppendUint32(info, uint32(len(attr)))
	info = append(info, attr...)
	return hkdf.Key(sha256.New, key.Material[:], nil, string(info), sha256.Size)
}

func searchMAC(key Key, purpose, table, attr string, v types.AttributeValue, norm Normalization) ([]byte, error) {
	if key.IsZero() {
		return nil, fmt.Errorf("%w: beacon key is unset", ErrInvalidKey)
	}
	msg, err := NormalizedValue(v, norm)
	if err != nil {
		return nil, err
	}
	k, err := searchKey(key, purpose, table, attr)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, k)
	m.Write(msg)
	clear(k)
	return m.Sum(nil), nil
}

// Beacon returns the beacon of v for attribute attr of the logical table:
// the first bits bits of HMAC-SHA256 under a key derived from the tenant's
// beacon key, as lower-case hex of ceil(bits/4) digits (FORMAT.md section
// 16). The beacon reveals only equality of normalised values within one
// tenant, blurred by truncation.
func Beacon(key Key, table, attr string, v types.AttributeValue, norm Normalization, bits int) (string, error) {
	if bits < MinBeaconBits || bits > MaxBeaconBits {
		return "", fmt.Errorf("%w: beacon length %d bits outside %d..%d", ErrInvalidConfig, bits, MinBeaconBits, MaxBeaconBits)
	}
	mac, err := searchMAC(key, "dynaseal v1 beacon", table, attr, v, norm)
	if err != nil {
		return "", err
	}
	x := binary.BigEndian.Uint64(mac[:8]) >> (64 - bits)
	digits := (bits + 3) / 4
	return fmt.Sprintf("%0*x", digits, x), nil
}

// ClaimTag returns the tag that names the claim item of a unique value:
// the first ClaimTagBits bits of HMAC-SHA256 under a key derived from the
// tenant's beacon key (another derivation than Beacon's), as lower-case hex.
func ClaimTag(key Key, table, attr string, v types.AttributeValue, norm Normalization) (string, error) {
	mac, err := searchMAC(key, "dynaseal v1 unique", table, attr, v, norm)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(mac[:ClaimTagBits/8]), nil
}
