package attrcrypt

import (
	"encoding/binary"
	"errors"
	"slices"
)

// Reserved attribute names. Every name that starts with ReservedPrefix
// belongs to the format: Seal refuses an item that uses one, and NewSealer
// refuses a Config that names one.
const (
	// ReservedPrefix starts every attribute name the format reserves.
	ReservedPrefix = "__"
	// HeaderAttribute holds the binary header: format version, key
	// reference, salt, key commitment and the action of every covered
	// attribute.
	HeaderAttribute = "__h"
	// SignatureAttribute holds the 32-byte HMAC-SHA256 item signature.
	SignatureAttribute = "__s"
)

// IsReserved reports whether name is reserved by the format (it starts with
// ReservedPrefix). A schema must refuse such names.
func IsReserved(name string) bool {
	return len(name) >= len(ReservedPrefix) && name[:len(ReservedPrefix)] == ReservedPrefix
}

// FormatVersion is the item format version this package writes and reads.
const FormatVersion = 1

const (
	saltSize       = 32
	commitSize     = 32
	macSize        = 32
	maxClassLen    = 255
	headerFixedLen = 1 + 1 + 4 + saltSize + commitSize + 4 + 4 // without class, actions, plain names
)

// header is a parsed header. Its slices alias the attribute bytes.
type header struct {
	version    byte
	class      string
	keyVersion uint32
	salt       []byte
	commitment []byte
	n          int    // covered attributes
	actions    []byte // packed, 2 bits per attribute
	plain      []string
	plainRaw   []byte // the encoded plain-name list, count included
}

// action returns the recorded action of covered attribute i.
func (h *header) action(i int) Action {
	return Action(h.actions[i>>2] >> (uint(i&3) * 2) & 3)
}

var (
	errHeaderShort    = errors.New("header truncated")
	errHeaderTrailing = errors.New("header has trailing bytes")
	errHeaderAction   = errors.New("header records an unknown action")
	errHeaderPadding  = errors.New("header action padding bits set")
	errHeaderPlain    = errors.New("header plain-name list not strictly sorted")
	errHeaderCount    = errors.New("header records no covered attribute")
	errHeaderKeyVer   = errors.New("header records key version 0")
	errVersion        = errors.New("unknown format version")
)

// headerLen is the encoded size of a header.
func headerLen(class string, n int, plainRaw []byte) int {
	return headerFixedLen + len(class) + (n+3)/4 + len(plainRaw) - 4
}

// Offsets inside an encoded header, given the class length.
func saltOffset(classLen int) int   { return 2 + classLen + 4 }
func commitOffset(classLen int) int { return saltOffset(classLen) + saltSize }

// putHeader writes the header into dst (len(dst) == headerLen). The salt and
// commitment regions are left for the caller; actions are packed from acts.
// plainRaw is the encoded plain-name list including its 4-byte count.
func putHeader(dst []byte, class string, keyVersion uint32, acts []attr, plainRaw []byte) {
	dst[0] = FormatVersion
	dst[1] = byte(len(class))
	p := 2 + copy(dst[2:], class)
	binary.BigEndian.PutUint32(dst[p:], keyVersion)
	p += 4 + saltSize + commitSize
	binary.BigEndian.PutUint32(dst[p:], uint32(len(acts)))
	p += 4
	packed := dst[p : p+(len(acts)+3)/4]
	clear(packed)
	for i := range acts {
		packed[i>>2] |= byte(acts[i].act) << (uint(i&3) * 2)
	}
	p += len(packed)
	copy(dst[p:], plainRaw)
}

// encodePlainNames encodes a sorted, duplicate-free name list: a 4-byte
// count, then for each name a 4-byte length and its bytes.
func encodePlainNames(names []string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(names)))
	for _, n := range names {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// parseHeader parses an encoded header strictly: every field present, no
// trailing bytes, known actions, zero padding bits, sorted plain names. It
// never panics on any input and never echoes input bytes in its error.
func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < 1 {
		return h, errHeaderShort
	}
	h.version = b[0]
	if h.version != FormatVersion {
		return h, errVersion
	}
	if len(b) < 2 {
		return h, errHeaderShort
	}
	cl := int(b[1])
	p := 2
	if len(b)-p < cl+4+saltSize+commitSize+4 {
		return h, errHeaderShort
	}
	if cl > 0 {
		h.class = string(b[p : p+cl])
	}
	p += cl
	h.keyVersion = binary.BigEndian.Uint32(b[p:])
	if h.keyVersion == 0 {
		return h, errHeaderKeyVer
	}
	p += 4
	h.salt = b[p : p+saltSize : p+saltSize]
	p += saltSize
	h.commitment = b[p : p+commitSize : p+commitSize]
	p += commitSize
	n := binary.BigEndian.Uint32(b[p:])
	p += 4
	if n == 0 {
		return h, errHeaderCount
	}
	if n > 1<<30 || (uint64(n)+3)/4 > uint64(len(b)-p) {
		return h, errHeaderShort
	}
	h.n = int(n)
	na := (h.n + 3) / 4
	h.actions = b[p : p+na : p+na]
	p += na
	for i := 0; i < h.n; i++ {
		if a := h.action(i); a != ActionSign && a != ActionEncrypt {
			return h, errHeaderAction
		}
	}
	if rem := h.n & 3; rem != 0 && h.actions[na-1]>>(uint(rem)*2) != 0 {
		return h, errHeaderPadding
	}
	if len(b)-p < 4 {
		return h, errHeaderShort
	}
	h.plainRaw = b[p:len(b):len(b)]
	pc := binary.BigEndian.Uint32(b[p:])
	p += 4
	if uint64(pc)*4 > uint64(len(b)-p) {
		return h, errHeaderShort
	}
	if pc > 0 {
		// Every name is a substring of one copy of the list: one
		// allocation however many names a header carries.
		list, base := string(b[p:]), p
		h.plain = make([]string, 0, pc)
		for range pc {
			if len(b)-p < 4 {
				return h, errHeaderShort
			}
			l := binary.BigEndian.Uint32(b[p:])
			p += 4
			if uint64(l) > uint64(len(b)-p) {
				return h, errHeaderShort
			}
			name := list[p-base : p-base+int(l)]
			p += int(l)
			if len(h.plain) > 0 && h.plain[len(h.plain)-1] >= name {
				return h, errHeaderPlain
			}
			h.plain = append(h.plain, name)
		}
	}
	if p != len(b) {
		return h, errHeaderTrailing
	}
	return h, nil
}

// isStoredPlain reports whether name is in the header's plain-name list.
// The list is strictly sorted (parseHeader checks), so a binary search
// keeps Open at O(n log p) whatever a database writer puts in the list.
func (h *header) isStoredPlain(name string) bool {
	if len(h.plain) == 0 {
		return false
	}
	_, found := slices.BinarySearch(h.plain, name)
	return found
}

// ClaimAttribute marks a unique-value claim item: an item the engine keeps
// beside sealed items so that a field's value is unique per tenant. A claim
// item is not sealed (it has no HeaderAttribute); readers of sealed items
// skip items that carry it (FORMAT.md section 16).
const ClaimAttribute = "__c"
