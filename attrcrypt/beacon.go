package attrcrypt

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"
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
		if v == nil {
			return nil, fmt.Errorf("%w: searchable value is nil", ErrMalformed)
		}
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
		if v == nil {
			return nil, fmt.Errorf("%w: searchable value is nil", ErrMalformed)
		}
		c, err := CanonicalNumber(v.Value)
		if err != nil {
			return nil, err
		}
		return append([]byte{'N'}, c...), nil
	case *types.AttributeValueMemberB:
		if v == nil {
			return nil, fmt.Errorf("%w: searchable value is nil", ErrMalformed)
		}
		return append([]byte{'B'}, v.Value...), nil
	case nil:
		return nil, fmt.Errorf("%w: searchable value is nil", ErrMalformed)
	default:
		return nil, fmt.Errorf("%w: searchable value must be a string, number or binary, not %T", ErrMalformed, v)
	}
}

const hexDigits = "0123456789abcdef"

// Derivation purposes (FORMAT.md section 16). Both are 18 bytes, and the
// length-prefixed table and attribute follow, so no info string of one
// purpose is a prefix of another's.
const (
	purposeBeacon = "dynaseal v1 beacon"
	purposeClaim  = "dynaseal v1 unique"
)

// Searcher computes the beacons and claim tags of one attribute of one
// logical table under one beacon key, with the key derivations of FORMAT.md
// section 16 done once in NewSearcher: a beacon then costs one HMAC. It
// gives the same results as Beacon and ClaimTag, holds no copy of the
// beacon key (only keys derived from it), and is safe for concurrent use.
type Searcher struct {
	beacon, claim macKey
}

// NewSearcher derives the beacon and claim keys of attribute attr of the
// logical table from the tenant's beacon key. It fails with ErrInvalidKey
// if the key is unset.
func NewSearcher(key Key, table, attr string) (*Searcher, error) {
	s := &Searcher{}
	var err error
	if s.beacon, err = deriveMACKey(key, purposeBeacon, table, attr); err != nil {
		return nil, err
	}
	if s.claim, err = deriveMACKey(key, purposeClaim, table, attr); err != nil {
		return nil, err
	}
	return s, nil
}

// Zero overwrites the Searcher's derived keys, for a cache that evicts
// it. A Searcher must not be used after Zero.
func (s *Searcher) Zero() {
	clear(s.beacon.inner)
	clear(s.beacon.outer)
	clear(s.claim.inner)
	clear(s.claim.outer)
}

// Beacon returns the beacon of v (see the package function Beacon).
func (s *Searcher) Beacon(v types.AttributeValue, norm Normalization, bits int) (string, error) {
	if bits < MinBeaconBits || bits > MaxBeaconBits {
		return "", fmt.Errorf("%w: beacon length %d bits outside %d..%d", ErrInvalidConfig, bits, MinBeaconBits, MaxBeaconBits)
	}
	msg, err := NormalizedValue(v, norm)
	if err != nil {
		return "", err
	}
	var mac [sha256.Size]byte
	s.beacon.sum(msg, &mac)
	// The top bits bits, as an integer, in ceil(bits/4) hex digits: shift
	// them to the bottom of a 64-bit word and keep its last digits.
	x := binary.BigEndian.Uint64(mac[:8]) >> (64 - bits)
	var buf [16]byte
	for i := len(buf) - 1; i >= 0; i-- {
		buf[i] = hexDigits[x&0xf]
		x >>= 4
	}
	return string(buf[len(buf)-(bits+3)/4:]), nil
}

// ClaimTag returns the claim tag of v (see the package function ClaimTag).
func (s *Searcher) ClaimTag(v types.AttributeValue, norm Normalization) (string, error) {
	msg, err := NormalizedValue(v, norm)
	if err != nil {
		return "", err
	}
	var mac [sha256.Size]byte
	s.claim.sum(msg, &mac)
	return hex.EncodeToString(mac[:ClaimTagBits/8]), nil
}

// macKey is an HMAC-SHA256 key held as the marshalled SHA-256 states
// after its inner and outer padded key blocks (RFC 2104), so that a MAC
// costs no key setup and no allocation.
type macKey struct {
	inner, outer []byte
}

// digests recycles SHA-256 digests for macKey.sum; a digest is reset
// before it goes back, so none holds key-dependent state.
var digests = sync.Pool{New: func() any { return sha256.New() }}

// deriveMACKey derives the per-table, per-attribute key of a beacon or a
// claim tag from a tenant's beacon key: HKDF-SHA256 with an empty salt and
// info purpose || u32be len || table || u32be len || attr.
func deriveMACKey(key Key, purpose, table, attr string) (macKey, error) {
	if key.IsZero() {
		return macKey{}, fmt.Errorf("%w: beacon key is unset", ErrInvalidKey)
	}
	info := make([]byte, 0, len(purpose)+8+len(table)+len(attr))
	info = append(info, purpose...)
	info = binary.BigEndian.AppendUint32(info, uint32(len(table)))
	info = append(info, table...)
	info = binary.BigEndian.AppendUint32(info, uint32(len(attr)))
	info = append(info, attr...)
	k, err := hkdf.Key(sha256.New, key.Material[:], nil, string(info), sha256.Size)
	if err != nil {
		return macKey{}, err
	}
	defer clear(k)
	var pad [sha256.BlockSize]byte
	defer clear(pad[:])
	state := func(x byte) ([]byte, error) {
		for i := range pad {
			pad[i] = x
		}
		for i, b := range k {
			pad[i] ^= b
		}
		h := sha256.New()
		h.Write(pad[:])
		return h.(encoding.BinaryMarshaler).MarshalBinary()
	}
	var m macKey
	if m.inner, err = state(0x36); err != nil {
		return macKey{}, err
	}
	if m.outer, err = state(0x5c); err != nil {
		return macKey{}, err
	}
	return m, nil
}

// sum writes HMAC-SHA256(key, msg) to out.
func (m *macKey) sum(msg []byte, out *[sha256.Size]byte) {
	h := digests.Get().(hash.Hash)
	restoreDigest(h, m.inner)
	h.Write(msg)
	h.Sum(out[:0])
	restoreDigest(h, m.outer)
	h.Write(out[:])
	h.Sum(out[:0])
	h.Reset()
	digests.Put(h)
}

// restoreDigest sets h to a state made by MarshalBinary.
func restoreDigest(h hash.Hash, state []byte) {
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		panic("attrcrypt: sha256 state: " + err.Error()) // states come from MarshalBinary
	}
}

// Beacon returns the beacon of v for attribute attr of the logical table:
// the first bits bits of HMAC-SHA256 under a key derived from the tenant's
// beacon key, as lower-case hex of ceil(bits/4) digits (FORMAT.md section
// 16). The beacon reveals only equality of normalised values within one
// tenant, blurred by truncation. A caller computing many should keep a
// Searcher, which derives the keys once.
func Beacon(key Key, table, attr string, v types.AttributeValue, norm Normalization, bits int) (string, error) {
	mk, err := deriveMACKey(key, purposeBeacon, table, attr)
	if err != nil {
		return "", err
	}
	return (&Searcher{beacon: mk}).Beacon(v, norm, bits)
}

// ClaimTag returns the tag that names the claim item of a unique value:
// the first ClaimTagBits bits of HMAC-SHA256 under a key derived from the
// tenant's beacon key (another derivation than Beacon's), as lower-case hex.
// A caller computing many should keep a Searcher.
func ClaimTag(key Key, table, attr string, v types.AttributeValue, norm Normalization) (string, error) {
	mk, err := deriveMACKey(key, purposeClaim, table, attr)
	if err != nil {
		return "", err
	}
	return (&Searcher{claim: mk}).ClaimTag(v, norm)
}
