package attrcrypt

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"hash"
	"sync"
)

// kdfInfo is the HKDF info string (FORMAT.md, "Key derivation"): the
// product, the format version and the purpose. It is at most 22 bytes on
// purpose: then every HKDF-Expand input T(i-1) ‖ info ‖ i fits one SHA-256
// block after the key pad, one compression per block instead of two.
const kdfInfo = "dynaseal v1 item keys"

// Compile-time check of the length bound above.
var _ [22 - len(kdfInfo)]struct{}

// itemKeys are the per-item secrets derived from the tenant key and the salt.
type itemKeys struct {
	enc    [32]byte // AES-256-GCM key
	mac    [32]byte // HMAC-SHA256 key
	commit [32]byte // key commitment stored in the header
}

func (k *itemKeys) zero() { clear(k.enc[:]); clear(k.mac[:]); clear(k.commit[:]) }

// HMAC-SHA256 and HKDF-SHA256 (RFC 2104, RFC 5869) over pooled SHA-256
// digests.
//
// crypto/hmac and crypto/hkdf compute exactly the same functions (a test
// checks this on random inputs), but they allocate two digests and several
// buffers per call because HMAC objects cannot be re-keyed; every item has
// fresh keys, and those allocations were more than half the cost of Seal.
// Here the digests are reused and every intermediate value lives on the
// stack.
type hmacSHA256 struct {
	h   hash.Hash
	pad [sha256.BlockSize]byte
	sum [sha256.Size]byte
	// Buffers for deriveKeys. Anything handed to h.Write escapes (h is an
	// interface), so inputs live here rather than on the caller's stack.
	ikm [KeySize]byte
	prk [sha256.Size]byte
	t   [sha256.Size + len(kdfInfo) + 1]byte // T(i-1) ‖ info ‖ i
	// SHA-256 states after absorbing PRK⊕ipad and PRK⊕opad, so the three
	// Expand blocks skip re-hashing the pads.
	istate, ostate []byte
}

func newHMAC() *hmacSHA256 { return &hmacSHA256{h: sha256.New()} }

var hmacPool = sync.Pool{New: func() any { return newHMAC() }}

// HMAC pad constants. The pads are built and switched with
// subtle.XORBytes, which works a word (or vector) at a time; the
// byte-at-a-time loops it replaces showed up in profiles, as every item
// builds four pads.
var (
	ipadBytes = [sha256.BlockSize]byte{
		0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
		0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
		0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
		0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
	}
	// ipad ⊕ opad: turns key ⊕ ipad into key ⊕ opad.
	padSwap = [sha256.BlockSize]byte{
		0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a,
		0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a,
		0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a,
		0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a, 0x6a,
	}
)

// start begins HMAC(key, ·); key must be at most one block (it always is
// here: 32-byte keys and salts).
func (m *hmacSHA256) start(key []byte) {
	m.pad = ipadBytes
	subtle.XORBytes(m.pad[:len(key)], key, ipadBytes[:len(key)])
	m.h.Reset()
	m.h.Write(m.pad[:])
}

// swapPad turns the inner pad into the outer one.
func (m *hmacSHA256) swapPad() { subtle.XORBytes(m.pad[:], m.pad[:], padSwap[:]) }

func (m *hmacSHA256) write(p []byte) { m.h.Write(p) }

// finish writes HMAC(key, message) to out; key is the one given to start.
func (m *hmacSHA256) finish(out *[sha256.Size]byte) {
	m.h.Sum(m.sum[:0])
	m.swapPad()
	m.h.Reset()
	m.h.Write(m.pad[:])
	m.h.Write(m.sum[:])
	m.h.Sum(out[:0])
	clear(m.pad[:])
	clear(m.sum[:])
}

// deriveKeys computes, with HKDF-SHA256 (RFC 5869):
//
//	PRK = HKDF-Extract(salt, IKM = tenant key material)
//	OKM = HKDF-Expand(PRK, kdfInfo, 96)
//
// and splits OKM into the encryption key (bytes 0-31), the MAC key (32-63)
// and the key commitment (64-95). The key reference is not in info: the
// commitment check compares it with the header explicitly, and the MAC
// covers it.
func deriveKeys(out *itemKeys, key *Key, salt []byte) {
	m := hmacPool.Get().(*hmacSHA256)
	m.deriveKeys(out, key, salt)
	hmacPool.Put(m)
}

// deriveKeys is deriveKeys on a given HMAC state (Seal and Open keep one in
// their pooled scratch, saving two pool round trips per call).
func (m *hmacSHA256) deriveKeys(out *itemKeys, key *Key, salt []byte) {
	m.ikm = key.Material
	m.start(salt)
	m.write(m.ikm[:])
	m.finish(&m.prk)

	// Pad states of PRK, computed once for the three Expand blocks.
	m.start(m.prk[:])
	m.istate = appendState(m.h, m.istate[:0])
	m.swapPad()
	m.h.Reset()
	m.h.Write(m.pad[:])
	m.ostate = appendState(m.h, m.ostate[:0])
	clear(m.pad[:])

	// T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), T(0) empty.
	copy(m.t[sha256.Size:], kdfInfo)
	msg := m.t[sha256.Size:]
	for i, t := range [3]*[32]byte{&out.enc, &out.mac, &out.commit} {
		m.t[len(m.t)-1] = byte(i + 1)
		restore(m.h, m.istate)
		m.h.Write(msg)
		m.h.Sum(m.sum[:0])
		restore(m.h, m.ostate)
		m.h.Write(m.sum[:])
		m.h.Sum(t[:0])
		copy(m.t[:sha256.Size], t[:])
		msg = m.t[:]
	}
	clear(m.prk[:])
	clear(m.ikm[:])
	clear(m.t[:])
	clear(m.sum[:])
	clear(m.istate)
	clear(m.ostate)
}

func appendState(h hash.Hash, dst []byte) []byte {
	b, err := h.(encoding.BinaryAppender).AppendBinary(dst)
	if err != nil {
		panic("attrcrypt: saving a SHA-256 state failed") // cannot happen for crypto/sha256
	}
	return b
}

func restore(h hash.Hash, state []byte) {
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		panic("attrcrypt: restoring a SHA-256 state failed") // cannot happen: state came from the same implementation
	}
}

// computeMAC writes HMAC-SHA256(macKey, input) to dst.
func computeMAC(dst *[macSize]byte, macKey []byte, input []byte) {
	m := hmacPool.Get().(*hmacSHA256)
	m.mac(dst, macKey, input)
	hmacPool.Put(m)
}

// mac is computeMAC on a given HMAC state.
func (m *hmacSHA256) mac(dst *[macSize]byte, macKey []byte, input []byte) {
	m.start(macKey)
	m.write(input)
	m.finish(dst)
}
