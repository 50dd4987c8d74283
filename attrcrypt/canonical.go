package attrcrypt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Type codes of the canonical encoding (FORMAT.md, "Canonical encoding").
// The same code is the first byte of a stored encrypted value.
const (
	codeS    byte = 0x01
	codeN    byte = 0x02
	codeB    byte = 0x03
	codeBOOL byte = 0x04
	codeNULL byte = 0x05
	codeL    byte = 0x06
	codeM    byte = 0x07
	codeSS   byte = 0x08
	codeNS   byte = 0x09
	codeBS   byte = 0x0A
)

// Nesting limits for documents (L and M). A top-level L or M is at depth
// 1 and every L or M directly inside one at depth d is at depth d+1
// (FORMAT.md, "Canonical encoding"). DynamoDB refuses an item whose
// documents reach depth 32 (it counts the item itself as the first of its
// 32 levels; checked against DynamoDB Local), so Seal accepts depth 31 at
// most. Readers accept 32, the limit earlier versions sealed with, so
// encrypted documents sealed before the limit was corrected still open.
const (
	maxDepth     = 31 // Seal
	maxReadDepth = 32 // Open, Reseal
)

var (
	errNilValue   = errors.New("nil or unknown attribute value type")
	errNullFalse  = errors.New("NULL attribute with value false")
	errDuplicate  = errors.New("set contains duplicate elements")
	errTooDeep    = errors.New("documents (lists and maps) nested deeper than DynamoDB allows (31 levels)")
	errUTF8       = errors.New("invalid UTF-8 in a string, set element or map key")
	errPayload    = errors.New("invalid canonical payload")
	errNotCanonic = errors.New("payload not in canonical form")
)

func typeCode(av types.AttributeValue) (byte, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return codeS, nil
	case *types.AttributeValueMemberN:
		return codeN, nil
	case *types.AttributeValueMemberB:
		return codeB, nil
	case *types.AttributeValueMemberBOOL:
		return codeBOOL, nil
	case *types.AttributeValueMemberNULL:
		if !v.Value {
			return 0, errNullFalse
		}
		return codeNULL, nil
	case *types.AttributeValueMemberL:
		return codeL, nil
	case *types.AttributeValueMemberM:
		return codeM, nil
	case *types.AttributeValueMemberSS:
		return codeSS, nil
	case *types.AttributeValueMemberNS:
		return codeNS, nil
	case *types.AttributeValueMemberBS:
		return codeBS, nil
	}
	return 0, errNilValue
}

// encoder builds canonical encodings. Its scratch stacks make sorting set
// elements and map keys allocation-free once warmed up; it is pooled and
// must not be shared between goroutines.
type encoder struct {
	// sealing selects Seal's limits: documents at most maxDepth deep
	// rather than maxReadDepth. checkUTF8 refuses strings, set elements
	// and map keys that are not valid UTF-8 (signed values at Seal).
	// Both are false in the pool.
	sealing   bool
	checkUTF8 bool

	strs []string   // stack of set elements being sorted
	kvs  []mapEntry // stack of map entries being sorted
	bs   [][]byte   // stack of binary set elements
	nb   []byte     // canonical number text of NS elements
	offs []span     // spans into nb
	ord  []ordEntry // stack of sort orders of large maps and number sets
}

type span struct{ lo, hi int }

// ordEntry is one element of a large map or number set being sorted: the
// first 8 bytes of its key as an integer and its index. Large ones are
// sorted through these (integer comparisons, no pointers to move, so no GC
// write barriers), which made wide maps and big sets several times cheaper.
type ordEntry struct {
	prefix uint64
	i      int32
}

// ordThreshold is the size from which maps and number sets sort through
// ordEntry; smaller ones sort directly.
const ordThreshold = 32

func prefixOf[T string | []byte](b T) uint64 {
	var p uint64
	for i := 0; i < 8 && i < len(b); i++ {
		p |= uint64(b[i]) << (56 - 8*i)
	}
	return p
}

// sortOrd sorts o by prefix, then by tie (the full comparison of two
// indices) among equal prefixes.
func sortOrd(o []ordEntry, tie func(i, j int32) int) {
	slices.SortFunc(o, func(a, b ordEntry) int {
		if a.prefix != b.prefix {
			if a.prefix < b.prefix {
				return -1
			}
			return 1
		}
		return tie(a.i, b.i)
	})
}

// mapEntry is one entry of an M value being encoded.
type mapEntry struct {
	k string
	v types.AttributeValue
}

func (e *encoder) depthLimit() int {
	if e.sealing {
		return maxDepth
	}
	return maxReadDepth
}

func appendLP(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

func appendLPString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// appendValue appends enc(av): type code then body.
func (e *encoder) appendValue(dst []byte, av types.AttributeValue, depth int) ([]byte, error) {
	code, err := typeCode(av)
	if err != nil {
		return dst, err
	}
	dst = append(dst, code)
	return e.appendBody(dst, av, depth)
}

// appendBody appends the canonical body of av (enc without the type code).
func (e *encoder) appendBody(dst []byte, av types.AttributeValue, depth int) ([]byte, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		if e.checkUTF8 && !utf8.ValidString(v.Value) {
			return dst, errUTF8
		}
		return appendLPString(dst, v.Value), nil
	case *types.AttributeValueMemberN:
		at := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		var err error
		dst, err = appendCanonicalNumber(dst, v.Value)
		if err != nil {
			return dst, err
		}
		binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
		return dst, nil
	case *types.AttributeValueMemberB:
		return appendLP(dst, v.Value), nil
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case *types.AttributeValueMemberNULL:
		return dst, nil
	case *types.AttributeValueMemberL:
		if depth >= e.depthLimit() {
			return dst, errTooDeep
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v.Value)))
		for _, el := range v.Value {
			var err error
			if dst, err = e.appendValue(dst, el, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case *types.AttributeValueMemberM:
		if depth >= e.depthLimit() {
			return dst, errTooDeep
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v.Value)))
		// Entries are sorted with their values, so encoding them needs
		// no second lookup per key (which dominated wide maps).
		base := len(e.kvs)
		for k, el := range v.Value {
			if e.checkUTF8 && !utf8.ValidString(k) {
				clear(e.kvs[base:])
				e.kvs = e.kvs[:base]
				return dst, errUTF8
			}
			e.kvs = append(e.kvs, mapEntry{k, el})
		}
		var err error
		if n := len(e.kvs) - base; n > ordThreshold {
			ob := len(e.ord)
			for i := base; i < len(e.kvs); i++ {
				e.ord = append(e.ord, ordEntry{prefixOf(e.kvs[i].k), int32(i)})
			}
			kvs := e.kvs
			sortOrd(e.ord[ob:], func(i, j int32) int { return strings.Compare(kvs[i].k, kvs[j].k) })
			// Nested values push onto both stacks; index them afresh.
			for k := ob; k < ob+n; k++ {
				en := e.kvs[e.ord[k].i]
				dst = appendLPString(dst, en.k)
				if dst, err = e.appendValue(dst, en.v, depth+1); err != nil {
					break
				}
			}
			e.ord = e.ord[:ob]
		} else {
			slices.SortFunc(e.kvs[base:], func(a, b mapEntry) int { return strings.Compare(a.k, b.k) })
			for i := base; i < len(e.kvs); i++ {
				dst = appendLPString(dst, e.kvs[i].k)
				if dst, err = e.appendValue(dst, e.kvs[i].v, depth+1); err != nil {
					break
				}
			}
		}
		clear(e.kvs[base:])
		e.kvs = e.kvs[:base]
		return dst, err
	case *types.AttributeValueMemberSS:
		if e.checkUTF8 {
			for _, x := range v.Value {
				if !utf8.ValidString(x) {
					return dst, errUTF8
				}
			}
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v.Value)))
		if stringsAscending(v.Value) {
			// Already in canonical order (which also rules out
			// duplicates): no copy to sort.
			for _, x := range v.Value {
				dst = appendLPString(dst, x)
			}
			return dst, nil
		}
		base := len(e.strs)
		e.strs = append(e.strs, v.Value...)
		s := e.strs[base:]
		slices.Sort(s)
		var err error
		for i, x := range s {
			if i > 0 && s[i-1] == x {
				err = errDuplicate
				break
			}
			dst = appendLPString(dst, x)
		}
		clear(e.strs[base:])
		e.strs = e.strs[:base]
		return dst, err
	case *types.AttributeValueMemberNS:
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v.Value)))
		nbBase, offBase := len(e.nb), len(e.offs)
		for _, x := range v.Value {
			lo := len(e.nb)
			var err error
			if e.nb, err = appendCanonicalNumber(e.nb, x); err != nil {
				e.nb, e.offs = e.nb[:nbBase], e.offs[:offBase]
				return dst, err
			}
			e.offs = append(e.offs, span{lo, len(e.nb)})
		}
		o := e.offs[offBase:]
		nb := e.nb
		if len(o) > ordThreshold {
			ob := len(e.ord)
			for i, sp := range o {
				e.ord = append(e.ord, ordEntry{prefixOf(nb[sp.lo:sp.hi]), int32(i)})
			}
			ord := e.ord[ob:]
			sortOrd(ord, func(i, j int32) int { return bytes.Compare(nb[o[i].lo:o[i].hi], nb[o[j].lo:o[j].hi]) })
			// Permute the spans into order (they are plain integers),
			// through the spare capacity of the span stack.
			n := len(o)
			e.offs = slices.Grow(e.offs, n)
			o = e.offs[offBase : offBase+n]
			sorted := e.offs[offBase+n : offBase+2*n]
			for k, en := range ord {
				sorted[k] = o[en.i]
			}
			copy(o, sorted)
			e.ord = e.ord[:ob]
		} else {
			slices.SortFunc(o, func(a, b span) int { return bytes.Compare(nb[a.lo:a.hi], nb[b.lo:b.hi]) })
		}
		var err error
		for i, sp := range o {
			if i > 0 && bytes.Equal(nb[o[i-1].lo:o[i-1].hi], nb[sp.lo:sp.hi]) {
				err = errDuplicate
				break
			}
			dst = appendLP(dst, nb[sp.lo:sp.hi])
		}
		e.nb, e.offs = e.nb[:nbBase], e.offs[:offBase]
		return dst, err
	case *types.AttributeValueMemberBS:
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v.Value)))
		if bytesAscending(v.Value) {
			for _, x := range v.Value {
				dst = appendLP(dst, x)
			}
			return dst, nil
		}
		base := len(e.bs)
		e.bs = append(e.bs, v.Value...)
		s := e.bs[base:]
		slices.SortFunc(s, bytes.Compare)
		var err error
		for i, x := range s {
			if i > 0 && bytes.Equal(s[i-1], x) {
				err = errDuplicate
				break
			}
			dst = appendLP(dst, x)
		}
		clear(e.bs[base:])
		e.bs = e.bs[:base]
		return dst, err
	}
	return dst, errNilValue
}

// stringsAscending and bytesAscending report whether a set is strictly
// ascending: sorted and duplicate-free, so its canonical encoding needs no
// sorting copy. Sets usually come sorted.
func stringsAscending(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

func bytesAscending(s [][]byte) bool {
	for i := 1; i < len(s); i++ {
		if bytes.Compare(s[i-1], s[i]) >= 0 {
			return false
		}
	}
	return true
}

// appendPayload appends the plaintext that Seal encrypts for av: the raw
// bytes of S and B, the canonical text of N, and the canonical body for every
// other type.
func (e *encoder) appendPayload(dst []byte, av types.AttributeValue) ([]byte, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return append(dst, v.Value...), nil
	case *types.AttributeValueMemberN:
		return appendCanonicalNumber(dst, v.Value)
	case *types.AttributeValueMemberB:
		return append(dst, v.Value...), nil
	}
	if _, err := typeCode(av); err != nil {
		return dst, err
	}
	return e.appendBody(dst, av, 0)
}

// decodePayload rebuilds the attribute value of type code from a decrypted
// payload. S and N payloads are handled by the caller (they share one string
// allocation); this handles every code. It accepts only canonical payloads.
func decodePayload(code byte, p []byte) (types.AttributeValue, error) {
	switch code {
	case codeS:
		return &types.AttributeValueMemberS{Value: string(p)}, nil
	case codeN:
		return decodeNumber(string(p))
	case codeB:
		if p == nil {
			p = []byte{}
		}
		return &types.AttributeValueMemberB{Value: p}, nil
	}
	d := decoder{b: p}
	v, err := d.body(code, 0)
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, errPayload
	}
	return v, nil
}

func decodeNumber(s string) (types.AttributeValue, error) {
	if !isCanonicalNumber(s) {
		return nil, errNotCanonic
	}
	return &types.AttributeValueMemberN{Value: s}, nil
}

// isCanonicalNumber reports whether s is valid number text in canonical form.
func isCanonicalNumber(s string) bool {
	var buf [192]byte
	c, err := appendCanonicalNumber(buf[:0], s)
	return err == nil && string(c) == s
}

// decoder reads canonical encodings. Decrypted payloads are decoded from
// b alone: strings are copied, B values alias b, and everything is checked
// to be canonical. Open's canonicalizeSigned decodes its own encoding (the
// MAC input, a pooled buffer) and sets str to the same bytes as a string:
// then every string is a substring of str (one allocation for the whole
// value), B values and BS elements are copied, and numbers, canonical by
// construction, are not parsed again.
type decoder struct {
	b   []byte
	str string
}

// stringLP reads lp(bytes) as a string.
func (d *decoder) stringLP() (string, error) {
	b, err := d.bytesLP()
	if err != nil {
		return "", err
	}
	if d.str == "" {
		return string(b), nil
	}
	end := len(d.str) - len(d.b)
	return d.str[end-len(b) : end], nil
}

func (d *decoder) number() (types.AttributeValue, error) {
	v, err := d.stringLP()
	if err != nil {
		return nil, err
	}
	if d.str != "" {
		return &types.AttributeValueMemberN{Value: v}, nil
	}
	return decodeNumber(v)
}

func (d *decoder) u32() (int, error) {
	if len(d.b) < 4 {
		return 0, errPayload
	}
	n := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	if uint64(n) > uint64(len(d.b)) && n > 0 {
		// every length or count is bounded by the remaining bytes (each
		// element takes at least one byte), which caps allocations.
		return 0, errPayload
	}
	return int(n), nil
}

func (d *decoder) bytesLP() ([]byte, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) value(depth int) (types.AttributeValue, error) {
	if len(d.b) < 1 {
		return nil, errPayload
	}
	code := d.b[0]
	d.b = d.b[1:]
	return d.body(code, depth)
}

func (d *decoder) body(code byte, depth int) (types.AttributeValue, error) {
	switch code {
	case codeS:
		v, err := d.stringLP()
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberS{Value: v}, nil
	case codeN:
		return d.number()
	case codeB:
		b, err := d.bytesLP()
		if err != nil {
			return nil, err
		}
		if d.str != "" {
			b = bytes.Clone(b)
		}
		return &types.AttributeValueMemberB{Value: slices.Clip(b)}, nil
	case codeBOOL:
		if len(d.b) < 1 || d.b[0] > 1 {
			return nil, errPayload
		}
		v := d.b[0] == 1
		d.b = d.b[1:]
		return &types.AttributeValueMemberBOOL{Value: v}, nil
	case codeNULL:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case codeL:
		if depth >= maxReadDepth {
			return nil, errTooDeep
		}
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		l := make([]types.AttributeValue, n)
		for i := range l {
			if l[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case codeM:
		if depth >= maxReadDepth {
			return nil, errTooDeep
		}
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		m := make(map[string]types.AttributeValue, n)
		prev := ""
		for i := range n {
			ks, err := d.stringLP()
			if err != nil {
				return nil, err
			}
			if i > 0 && ks <= prev {
				return nil, errNotCanonic
			}
			prev = ks
			if m[ks], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case codeSS, codeNS:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		s := make([]string, n)
		for i := range s {
			if s[i], err = d.stringLP(); err != nil {
				return nil, err
			}
			if i > 0 && strings.Compare(s[i-1], s[i]) >= 0 {
				return nil, errNotCanonic
			}
			if code == codeNS && d.str == "" {
				if !isCanonicalNumber(s[i]) {
					return nil, errNotCanonic
				}
			}
		}
		if code == codeNS {
			return &types.AttributeValueMemberNS{Value: s}, nil
		}
		return &types.AttributeValueMemberSS{Value: s}, nil
	case codeBS:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		s := make([][]byte, n)
		for i := range s {
			if s[i], err = d.bytesLP(); err != nil {
				return nil, err
			}
			if d.str != "" {
				s[i] = bytes.Clone(s[i])
			}
			if i > 0 && bytes.Compare(s[i-1], s[i]) >= 0 {
				return nil, errNotCanonic
			}
		}
		return &types.AttributeValueMemberBS{Value: s}, nil
	}
	return nil, errPayload
}

// isCanonicalValue reports whether av is already in the canonical form the
// signature covers: numbers in canonical text, set elements in canonical
// order (NS by their canonical text), the same inside lists and maps. It
// costs one pass and allocates nothing; Open rebuilds only the values for
// which it is false (canonicalizeSigned). Invalid values report true (they
// cannot have passed the signature check).
func isCanonicalValue(av types.AttributeValue) bool {
	switch v := av.(type) {
	case *types.AttributeValueMemberN:
		return isPlainInteger(v.Value) || isCanonicalNumber(v.Value)
	case *types.AttributeValueMemberSS:
		return stringsAscending(v.Value)
	case *types.AttributeValueMemberBS:
		return bytesAscending(v.Value)
	case *types.AttributeValueMemberNS:
		for _, x := range v.Value {
			if !isPlainInteger(x) && !isCanonicalNumber(x) {
				return false
			}
		}
		// Canonical texts sort by bytes.
		return stringsAscending(v.Value)
	case *types.AttributeValueMemberL:
		for _, el := range v.Value {
			if !isCanonicalValue(el) {
				return false
			}
		}
	case *types.AttributeValueMemberM:
		for _, el := range v.Value {
			if !isCanonicalValue(el) {
				return false
			}
		}
	}
	return true
}
