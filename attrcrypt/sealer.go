package attrcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Config describes one item type to a Sealer.
type Config struct {
	// Table is the logical table name bound into every signature
	// (required). Callers usually pass the physical table name, and keep
	// passing the original name when a table is restored from a backup
	// under a new name, so that its items still open. An item copied into a
	// table with another logical name fails verification.
	Table string
	// TenantAttribute names the string (S) attribute holding the tenant id.
	// It is always signed and never encrypted; Seal and Open compare it with
	// the key's tenant.
	TenantAttribute string
	// Actions gives the action of each attribute. Attributes absent from
	// the map are signed (ActionSign). The Sealer copies the map.
	Actions map[string]Action
	// AllowPlaintextMigration lets Open return attributes the reader marks
	// for protection but that were stored with less: stored signed in
	// plaintext but now ActionEncrypt (verified, returned as stored), and
	// stored plain but now ActionSign or ActionEncrypt (returned
	// unverified). Without it both are refused with ErrSchemaMismatch.
	// Every use is reported in OpenResult. Enable it only while migrating,
	// and reseal what it reports.
	AllowPlaintextMigration bool
}

// Option tunes a Sealer.
type Option func(*Sealer)

// WithRandom makes Seal read its salts from r instead of crypto/rand.
//
// It exists for test vectors only: a fixed reader makes Seal deterministic so
// committed vectors can be checked byte for byte. Never use it in
// production: a repeated salt repeats per-item keys and AES-GCM nonces.
func WithRandom(r io.Reader) Option {
	return func(s *Sealer) { s.rand = r }
}

// Sealer seals and opens items of one type. It is immutable after
// NewSealer and safe for concurrent use by many goroutines.
type Sealer struct {
	table      string
	tenantAttr string
	actions    map[string]Action
	acts       actionTable // the same actions, for the per-attribute lookups
	plainNames []string    // sorted names the config marks plain
	plainRaw   []byte      // their header encoding, count included
	migrate    bool
	rand       io.Reader // nil: crypto/rand
}

// NewSealer validates cfg and returns a Sealer. It fails, wrapping
// ErrInvalidConfig, when the table or tenant attribute is empty, when a
// name is reserved (IsReserved), when an action is unknown, or when the
// tenant attribute is not ActionSign.
func NewSealer(cfg Config, opts ...Option) (*Sealer, error) {
	if cfg.Table == "" {
		return nil, fmt.Errorf("%w: empty table name", ErrInvalidConfig)
	}
	if cfg.TenantAttribute == "" {
		return nil, fmt.Errorf("%w: empty tenant attribute", ErrInvalidConfig)
	}
	if !utf8.ValidString(cfg.TenantAttribute) {
		return nil, fmt.Errorf("%w: tenant attribute %q is not valid UTF-8", ErrInvalidConfig, cfg.TenantAttribute)
	}
	if IsReserved(cfg.TenantAttribute) {
		return nil, fmt.Errorf("%w: tenant attribute %q uses the reserved prefix %q", ErrInvalidConfig, cfg.TenantAttribute, ReservedPrefix)
	}
	s := &Sealer{
		table:      cfg.Table,
		tenantAttr: cfg.TenantAttribute,
		actions:    make(map[string]Action, len(cfg.Actions)),
		migrate:    cfg.AllowPlaintextMigration,
	}
	for name, a := range cfg.Actions {
		if IsReserved(name) {
			return nil, fmt.Errorf("%w: attribute %q uses the reserved prefix %q", ErrInvalidConfig, name, ReservedPrefix)
		}
		if name == "" {
			return nil, fmt.Errorf("%w: empty attribute name", ErrInvalidConfig)
		}
		if !utf8.ValidString(name) {
			return nil, fmt.Errorf("%w: attribute name %q is not valid UTF-8", ErrInvalidConfig, name)
		}
		switch a {
		case ActionSign, ActionEncrypt:
		case ActionPlain:
			s.plainNames = append(s.plainNames, name)
		default:
			return nil, fmt.Errorf("%w: attribute %q has unknown action %d", ErrInvalidConfig, name, uint8(a))
		}
		s.actions[name] = a
	}
	s.acts = newActionTable(s.actions)
	if a := s.action(cfg.TenantAttribute); a != ActionSign {
		return nil, fmt.Errorf("%w: tenant attribute %q must be signed, not %s", ErrInvalidConfig, cfg.TenantAttribute, a)
	}
	slices.Sort(s.plainNames)
	s.plainRaw = encodePlainNames(s.plainNames)
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// action returns the configured action of name (ActionSign by default).
func (s *Sealer) action(name string) Action {
	return s.acts.lookup(name, namePrefix(name))
}

// actionTable is an open-addressing hash table of the configured actions,
// indexed by the name prefix the sorts compute anyway (namePrefix) and the
// name length. Seal and Open look up every attribute of every item; a Go
// map lookup (hashing the whole name) cost about three times as much.
// Only configured names are stored and at least half the slots stay
// empty, so a lookup of any name ends after at most len(actions)+1 probes
// whatever the item holds.
type actionTable struct {
	slots []actionSlot // power-of-two length; nil when nothing is configured
	shift uint         // 64 - log2(len(slots))
}

type actionSlot struct {
	name string
	act  Action
	used bool
}

func newActionTable(actions map[string]Action) actionTable {
	if len(actions) == 0 {
		return actionTable{}
	}
	size := 4
	for size < 2*len(actions) {
		size *= 2
	}
	t := actionTable{slots: make([]actionSlot, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	for name, a := range actions {
		i := t.index(name, namePrefix(name))
		for t.slots[i].used {
			i = (i + 1) & (len(t.slots) - 1)
		}
		t.slots[i] = actionSlot{name: name, act: a, used: true}
	}
	return t
}

func (t *actionTable) index(name string, prefix uint64) int {
	// Fibonacci hashing: the top bits of the product mix every input bit
	// (the middle bits taken before clustered names that differ only in
	// a few digits into long probe chains).
	h := (prefix ^ uint64(len(name))) * 0x9e3779b97f4a7c15
	return int(h >> t.shift)
}

// lookup returns the action of name (prefix = namePrefix(name)); names not
// in the table are ActionSign.
func (t *actionTable) lookup(name string, prefix uint64) Action {
	if t.slots == nil {
		return ActionSign
	}
	for i := t.index(name, prefix); t.slots[i].used; i = (i + 1) & (len(t.slots) - 1) {
		if t.slots[i].name == name {
			return t.slots[i].act
		}
	}
	return ActionSign
}

func errMalformed(attr string, detail string) error {
	return &malformedError{attr: attr, detail: detail}
}

// malformedError is an ErrMalformed naming the attribute (never its value),
// so Open can report the same failure on a stored item as tampered.
type malformedError struct{ attr, detail string }

func (e *malformedError) Error() string {
	if e.attr == "" {
		return ErrMalformed.Error() + ": " + e.detail
	}
	return ErrMalformed.Error() + ": attribute " + quote(e.attr) + ": " + e.detail
}

func (e *malformedError) Unwrap() error { return ErrMalformed }

func checkKey(key *Key) error {
	switch {
	case key.Ref.Tenant == "":
		return fmt.Errorf("%w: empty tenant", ErrInvalidKey)
	case key.Ref.Version == 0:
		return fmt.Errorf("%w: version 0", ErrInvalidKey)
	case len(key.Ref.Class) > maxClassLen:
		return fmt.Errorf("%w: class longer than %d bytes", ErrInvalidKey, maxClassLen)
	case key.IsZero():
		return fmt.Errorf("%w: key material is unset (all zero)", ErrInvalidKey)
	}
	return nil
}

// scratch holds per-call buffers, pooled so steady-state calls allocate
// only what they return.
type scratch struct {
	enc   encoder
	buf   []byte // MAC input
	pay   []byte // payloads before encryption
	aad   []byte
	keys  itemKeys
	hm    *hmacSHA256 // digest state for deriveKeys and the MAC
	nonce [12]byte
	mac   [macSize]byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{hm: newHMAC()} }}

const maxPooledBuf = 64 << 10

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(st *scratch) {
	st.keys.zero()
	clear(st.pay)                     // plaintext copies
	clear(st.enc.nb[:cap(st.enc.nb)]) // canonical numbers, possibly of encrypted sets
	if cap(st.buf) > maxPooledBuf {
		st.buf = nil
	}
	if cap(st.pay) > maxPooledBuf {
		st.pay = nil
	}
	st.buf, st.pay, st.aad = st.buf[:0], st.pay[:0], st.aad[:0]
	st.enc.sealing, st.enc.checkUTF8 = false, false
	scratchPool.Put(st)
}

// Seal returns a sealed copy of item: every attribute the config marks
// ActionEncrypt replaced by its ciphertext (a B value), plus the header
// (HeaderAttribute) and signature (SignatureAttribute) attributes. item is
// not modified; values that are not encrypted are shared with it, not
// copied.
//
// item[TenantAttribute] must be an S value equal to key.Ref.Tenant
// (ErrWrongTenant otherwise; ErrMalformed when absent). Seal refuses
// reserved names and invalid values with ErrMalformed and unusable keys
// with ErrInvalidKey. Errors name attributes, never values.
func (s *Sealer) Seal(item map[string]types.AttributeValue, key Key) (map[string]types.AttributeValue, error) {
	if err := checkKey(&key); err != nil {
		return nil, err
	}
	tv, ok := item[s.tenantAttr].(*types.AttributeValueMemberS)
	if !ok {
		return nil, errMalformed(s.tenantAttr, "tenant attribute missing or not a string")
	}
	if tv.Value != key.Ref.Tenant {
		return nil, fmt.Errorf("%w: tenant attribute %q does not match the key's tenant", ErrWrongTenant, s.tenantAttr)
	}

	st := getScratch()
	defer putScratch(st)

	// Covered attributes, sorted by name. The slice lives on the stack for
	// ordinary items: sorting pointerful values in heap memory pays a GC
	// write barrier per swap.
	var attrsArr [stackAttrs]attr
	attrs := attrBuf(&attrsArr, item)
	for name, av := range item {
		if IsReserved(name) {
			return nil, errMalformed(name, "name uses the reserved prefix "+quote(ReservedPrefix))
		}
		if !utf8.ValidString(name) {
			// DynamoDB's JSON protocol would store another name, and
			// the stored item would no longer match its header.
			return nil, errMalformed(name, "name is not valid UTF-8")
		}
		p := namePrefix(name)
		if a := s.acts.lookup(name, p); a != ActionPlain {
			attrs = append(attrs, attr{name: name, av: av, act: a, prefix: p})
		}
	}
	if len(attrs) > 0 && &attrs[0] == &attrsArr[0] { // still on the stack
		sortLocal(&attrsArr, len(attrs))
	} else {
		sortAttrs(attrs)
	}
	return s.sealCovered(st, item, &key, attrs, s.plainRaw, true)
}

// sealCovered seals item under key given its covered attributes, sorted by
// name with their actions set, and the encoded writer-plain list for the
// header. It is Seal after the attribute classification, shared with
// Reseal, which classifies by the recorded actions instead. The output is a
// clone of item with the encrypted values and the reserved attributes
// replaced; attrs' values are overwritten with the stored forms.
//
// strict applies Seal's input rules (DynamoDB's nesting limit, UTF-8 in
// signed strings); Reseal passes false so that it never refuses an item it
// could verify and open.
func (s *Sealer) sealCovered(st *scratch, item map[string]types.AttributeValue, key *Key, attrs []attr, plainRaw []byte, strict bool) (map[string]types.AttributeValue, error) {
	n := len(attrs)
	st.enc.sealing = strict

	// Payloads of encrypted attributes.
	nEnc := 0
	encLen := 0
	for i := range attrs {
		a := &attrs[i]
		if a.act != ActionEncrypt {
			continue
		}
		nEnc++
		if v, ok := a.av.(*types.AttributeValueMemberS); ok {
			// Copied straight into the output below.
			a.code, a.lo, a.hi = codeS, -1, len(v.Value)
			encLen += 1 + len(v.Value) + 16
			continue
		}
		lo := len(st.pay)
		var err error
		if st.pay, err = st.enc.appendPayload(st.pay, a.av); err != nil {
			return nil, errMalformed(a.name, err.Error())
		}
		a.code, _ = typeCode(a.av) // validated by appendPayload
		a.lo, a.hi = lo, len(st.pay)
		encLen += 1 + len(st.pay) - lo + 16
	}

	// One allocation for every byte Seal stores: header, signature,
	// ciphertexts.
	hLen := headerLen(key.Ref.Class, n, plainRaw)
	slab := make([]byte, hLen+macSize+encLen)
	hdr := slab[:hLen:hLen]
	sig := slab[hLen : hLen+macSize : hLen+macSize]
	putHeader(hdr, key.Ref.Class, key.Ref.Version, attrs, plainRaw)
	salt := hdr[saltOffset(len(key.Ref.Class)):][:saltSize]
	if s.rand != nil {
		if _, err := io.ReadFull(s.rand, salt); err != nil {
			return nil, fmt.Errorf("attrcrypt: reading salt: %w", err)
		}
	} else {
		_, _ = rand.Read(salt) // never fails (Go 1.24+)
	}
	st.hm.deriveKeys(&st.keys, key, salt)
	copy(hdr[commitOffset(len(key.Ref.Class)):], st.keys.commit[:])

	bvals := make([]types.AttributeValueMemberB, nEnc+2)
	bvals[0].Value = hdr
	bvals[1].Value = sig
	if nEnc > 0 {
		gcm, err := newGCM(&st.keys)
		if err != nil {
			return nil, err
		}
		at := hLen + macSize
		k := 2
		nonce := st.nonce[:]
		clear(nonce)
		for i := range attrs {
			a := &attrs[i]
			if a.act != ActionEncrypt {
				continue
			}
			var pn int
			out := slab[at:]
			if a.lo < 0 {
				pn = copy(out[1:], a.av.(*types.AttributeValueMemberS).Value)
			} else {
				pn = copy(out[1:], st.pay[a.lo:a.hi])
			}
			out = out[: 1+pn+16 : 1+pn+16]
			out[0] = a.code
			binary.BigEndian.PutUint32(nonce[8:], uint32(i))
			st.aad = s.appendAAD(st.aad[:0], a.code, key.Ref.Tenant, a.name)
			gcm.Seal(out[1:1], nonce, out[1:1+pn], st.aad)
			bvals[k].Value = out
			a.av = &bvals[k] // the value as stored, for the signature
			at += len(out)
			k++
		}
	}

	var err error
	st.enc.checkUTF8 = strict // the signed values are stored as given
	st.buf, err = s.appendMACInput(st.buf[:0], &st.enc, key.Ref.Tenant, hdr, attrs)
	if err != nil {
		// Only a signed value can fail here (encrypted ones were checked).
		return nil, err
	}
	st.hm.mac(&st.mac, st.keys.mac[:], st.buf)
	copy(sig, st.mac[:])

	// The output starts as a clone of the item: maps.Clone copies the
	// item's hash table wholesale instead of rehashing and inserting every
	// attribute, which made building the output map cost as much as the
	// whole HMAC. Only the encrypted values and the two reserved attributes
	// are then stored. (The clone keeps the item's capacity; a caller that
	// over-sizes its item map gets an equally over-sized copy.)
	out := maps.Clone(item)
	for i := range attrs {
		if attrs[i].act == ActionEncrypt {
			out[attrs[i].name] = attrs[i].av
		}
	}
	out[HeaderAttribute] = &bvals[0]
	out[SignatureAttribute] = &bvals[1]
	return out, nil
}

// newGCM returns AES-256-GCM under the item's encryption key.
func newGCM(keys *itemKeys) (cipher.AEAD, error) {
	block, err := aes.NewCipher(keys.enc[:])
	if err != nil {
		return nil, fmt.Errorf("attrcrypt: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("attrcrypt: %w", err)
	}
	return gcm, nil
}

// attrBuf returns the slice Seal and Open collect an item's covered
// attributes in: the caller's stack array for ordinary items, or one
// allocation of the right size for large ones (growing by doubling copied
// a large item's attributes several times).
func attrBuf(arr *[stackAttrs]attr, item map[string]types.AttributeValue) []attr {
	if len(item) > stackAttrs+2 {
		return make([]attr, 0, len(item))
	}
	return arr[:0]
}

// stackAttrs is how many covered attributes fit the stack buffers of Seal
// and Open before they spill to the heap.
const stackAttrs = 24

// attr is one covered attribute during Seal or Open.
type attr struct {
	name   string
	av     types.AttributeValue // value as stored
	act    Action               // Seal: the writer's action; Open: the header's
	reader Action               // Open: the reader's action
	prefix uint64               // namePrefix(name), set by the sorts
	code   byte                 // type code of an encrypted value
	lo, hi int                  // Seal: payload span; Open: plaintext span (encrypted), enc(value) span in the MAC input (signed)
}

// namePrefix returns the first 8 bytes of name as a big-endian integer,
// zero-padded. Comparing prefixes orders names exactly as comparing the
// strings does, except that equal prefixes need the full comparison; most
// attribute names differ in their first bytes, so sorting compares integers
// instead of calling the runtime's string comparison.
func namePrefix(name string) uint64 {
	var p uint64
	for i := 0; i < 8 && i < len(name); i++ {
		p |= uint64(name[i]) << (56 - 8*i)
	}
	return p
}

// nameLess orders attributes by name (bytewise); prefix must be set.
func nameLess(x, y *attr) bool {
	if x.prefix != y.prefix {
		return x.prefix < y.prefix
	}
	return x.name < y.name
}

// sortLocal sorts the first n attributes of a stack array by name; the
// caller has set every prefix. It is small enough to inline, so the
// compiler sees the writes go to the stack and omits GC write barriers
// (which sorting through a slice pays per move).
func sortLocal(a *[stackAttrs]attr, n int) {
	for i := 1; i < n; i++ {
		// Shift rather than swap: one 64-byte move per step, not three.
		x := a[i]
		j := i
		for ; j > 0 && nameLess(&x, &a[j-1]); j-- {
			a[j] = a[j-1]
		}
		a[j] = x
	}
}

// sortAttrs sorts by name (bytewise). Items are small, so an insertion
// sort with inlined comparisons beats the generic sort, whose comparison
// callback dominates at this size.
func sortAttrs(a []attr) {
	for i := range a {
		a[i].prefix = namePrefix(a[i].name)
	}
	if len(a) > 2*stackAttrs {
		sortLarge(a)
		return
	}
	for i := 1; i < len(a); i++ {
		if !nameLess(&a[i], &a[i-1]) {
			continue
		}
		x := a[i]
		j := i
		for ; j > 0 && nameLess(&x, &a[j-1]); j-- {
			a[j] = a[j-1]
		}
		a[j] = x
	}
}

// sortLarge sorts a large attribute slice (prefixes set) in O(n log n):
// it sorts indices, comparing the attributes in place, then permutes.
// Sorting the attributes themselves with slices.SortFunc copied two of
// them per comparison, and an interface sort would make every caller's
// stack buffer escape.
func sortLarge(a []attr) {
	tmp := slices.Clone(a)
	idx := make([]int32, len(a))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int {
		x, y := &tmp[i], &tmp[j]
		if x.prefix != y.prefix {
			if x.prefix < y.prefix {
				return -1
			}
			return 1
		}
		return strings.Compare(x.name, y.name)
	})
	for k, i := range idx {
		a[k] = tmp[i]
	}
}

// appendAAD appends the AES-GCM associated data of one encrypted attribute:
// version ‖ type code ‖ lp(table) ‖ lp(tenant) ‖ lp(name).
func (s *Sealer) appendAAD(dst []byte, code byte, tenant, name string) []byte {
	dst = append(dst, FormatVersion, code)
	dst = appendLPString(dst, s.table)
	dst = appendLPString(dst, tenant)
	return appendLPString(dst, name)
}

// macDomain starts every MAC input.
const macDomain = "dynaseal/attrcrypt/v1 item signature"

// appendMACInput appends the signature input (FORMAT.md, "Signature"):
//
//	macDomain ‖ 0x00 ‖ lp(table) ‖ lp(tenant) ‖ lp(header) ‖ u32(n) ‖
//	for each covered attribute in name order: lp(name) ‖ action ‖ enc(stored value)
func (s *Sealer) appendMACInput(dst []byte, e *encoder, tenant string, hdr []byte, attrs []attr) ([]byte, error) {
	dst = append(dst, macDomain...)
	dst = append(dst, 0)
	dst = appendLPString(dst, s.table)
	dst = appendLPString(dst, tenant)
	dst = appendLP(dst, hdr)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(attrs)))
	for i := range attrs {
		a := &attrs[i]
		dst = appendLPString(dst, a.name)
		dst = append(dst, byte(a.act))
		var err error
		at := len(dst)
		if dst, err = e.appendValue(dst, a.av, 0); err != nil {
			return dst, errMalformed(a.name, err.Error())
		}
		if a.act == ActionSign {
			// Where enc(value) is, for Open's canonicalizeSigned.
			a.lo, a.hi = at, len(dst)
		}
	}
	return dst, nil
}
