package attrcrypt

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// OpenResult reports how Open reconciled the actions recorded in the header
// with the reader's Config. For an item sealed under the reader's own
// schema it is the zero value apart from Ref.
type OpenResult struct {
	// Ref is the key reference the item was sealed under: the tenant
	// attribute and the header's class and version.
	Ref KeyRef
	// Drift lists, sorted by name, every attribute whose stored action
	// differs from the reader's (see FORMAT.md, "Schema drift"). Nil when
	// there is none.
	Drift []Drift
	// MigrationUsed reports that Open returned at least one attribute only
	// because Config.AllowPlaintextMigration is set.
	MigrationUsed bool
}

// NeedsReseal reports whether the item should be sealed again under the
// reader's schema (its stored actions differ from the reader's).
func (r OpenResult) NeedsReseal() bool { return len(r.Drift) > 0 }

// Drift describes one attribute whose stored action differs from the
// reader's action.
type Drift struct {
	// Name is the attribute name.
	Name string
	// Stored is the action the item was sealed with for this attribute.
	Stored Action
	// Reader is the reader's action for it.
	Reader Action
	// Verified reports that the value was covered by the verified
	// signature. It is false only for attributes stored plain that the
	// reader wants signed or encrypted (returned under migration mode).
	Verified bool
}

// KeyRef returns the key reference an item was sealed under without any
// cryptography: Tenant from the tenant attribute, Class and Version from the
// header. Use it to fetch the right key version before Open; nothing it
// returns is verified until Open succeeds.
//
// An item with neither the header nor the signature is ErrNotSealed (not
// a *TamperError). Every other error is a *TamperError: a missing or
// unparsable header is ReasonHeader; a header of another format version is
// ReasonVersion (also matching ErrUnsupportedVersion); a missing or
// non-string tenant attribute is ReasonTenant.
func (s *Sealer) KeyRef(item map[string]types.AttributeValue) (KeyRef, error) {
	tv, ok := item[s.tenantAttr].(*types.AttributeValueMemberS)
	if !ok {
		return KeyRef{}, tamper(ReasonTenant, s.tenantAttr, "tenant attribute missing or not a string")
	}
	h, err := s.itemHeader(item)
	if err != nil {
		if IsUnsealed(item) {
			return KeyRef{}, errNotSealed
		}
		return KeyRef{}, err
	}
	return KeyRef{Tenant: tv.Value, Class: h.class, Version: h.keyVersion}, nil
}

// itemHeader parses the item's header and checks its writer-plain list
// against this Sealer: a reserved name or the tenant attribute listed as
// plain cannot come from a writer (NewSealer refuses both), and would take
// the header or the tenant out of the covered set.
func (s *Sealer) itemHeader(item map[string]types.AttributeValue) (header, error) {
	h, err := parseItemHeader(item)
	if err != nil {
		return h, err
	}
	if h.isStoredPlain(s.tenantAttr) {
		return h, tamper(ReasonHeader, HeaderAttribute, "header lists the tenant attribute as plain")
	}
	// Sorted list: reserved names ("__" prefix) sit together; look at the
	// first name not below the prefix.
	if i, _ := slices.BinarySearch(h.plain, ReservedPrefix); i < len(h.plain) && IsReserved(h.plain[i]) {
		return h, tamper(ReasonHeader, HeaderAttribute, "header lists a reserved name as plain")
	}
	return h, nil
}

func parseItemHeader(item map[string]types.AttributeValue) (header, error) {
	hv, ok := item[HeaderAttribute].(*types.AttributeValueMemberB)
	if !ok {
		return header{}, tamper(ReasonHeader, HeaderAttribute, "header attribute missing or not binary")
	}
	if len(hv.Value) > MaxItemSize {
		// Bounds every count in the header (and the work they cause)
		// before anything is parsed or allocated: DynamoDB stores no
		// larger attribute.
		return header{}, tamper(ReasonHeader, HeaderAttribute, "header larger than a DynamoDB item can be")
	}
	h, err := parseHeader(hv.Value)
	if err == errVersion {
		return h, &TamperError{Reason: ReasonVersion, Attribute: HeaderAttribute, also: ErrUnsupportedVersion,
			detail: fmt.Sprintf("header names format version %d, this reader implements %d (an item from a newer writer, or an edited header)", h.version, FormatVersion)}
	}
	if err != nil {
		return h, tamper(ReasonHeader, HeaderAttribute, err.Error())
	}
	return h, nil
}

// Open verifies a sealed item and returns it decrypted, without the
// reserved attributes, as a new map (item is not modified). The order of
// checks is fixed (FORMAT.md, "Open"):
//
//  1. the tenant attribute must be an S (ReasonTenant) equal to
//     key.Ref.Tenant (ErrWrongTenant), before any cryptography;
//  2. an item with neither header nor signature is ErrNotSealed (never
//     ErrTampered, never opened); otherwise the header must parse
//     (ReasonHeader; ReasonVersion, which also matches
//     ErrUnsupportedVersion, for another format version) and the signature
//     must be 32 bytes (ReasonSignature);
//  3. the key commitment is checked in constant time, with the header's key
//     class and version equal to the key's (ReasonCommitment);
//  4. the covered attribute set is rebuilt and must have the header's count
//     (ReasonAttributeSet);
//  5. the signature is checked in constant time (ReasonSignature; a signed
//     value no writer could sign is ReasonAttribute);
//  6. the schema-drift policy is applied (ErrSchemaMismatch);
//  7. encrypted attributes are decrypted (ReasonAttribute on failure).
//
// Encrypted and signed values come back in the canonical form the
// signature covers: numbers in canonical text (see CanonicalNumber), which
// may differ from the text written but has the same value, exactly as
// DynamoDB itself rewrites numbers, and set elements in canonical order, at
// any depth. Plain attributes are returned as stored.
func (s *Sealer) Open(item map[string]types.AttributeValue, key Key) (map[string]types.AttributeValue, OpenResult, error) {
	// The scratch is taken here rather than in open, whose many returns
	// would make the compiler use a slower, runtime-managed defer.
	st := getScratch()
	defer putScratch(st)
	return s.open(st, item, &key)
}

func (s *Sealer) open(st *scratch, item map[string]types.AttributeValue, key *Key) (map[string]types.AttributeValue, OpenResult, error) {
	var res OpenResult
	pc, err := s.precheck(st, item, key)
	if err != nil {
		return nil, res, err
	}
	res.Ref = pc.ref
	h := &pc.h

	// Covered set: item − reserved − stored-plain − reader-plain; if the
	// count differs from the header's, once more without the reader's
	// plain names (the reader moved a signed attribute to plain).
	var attrsArr [stackAttrs]attr
	attrs := attrBuf(&attrsArr, item)
	// Each attr keeps the reader's action so the drift check below needs
	// no second lookup.
	readerPlainSkipped := false
	nReserved := 0
	for name, av := range item {
		if IsReserved(name) {
			nReserved++
			continue
		}
		if h.isStoredPlain(name) {
			continue
		}
		p := namePrefix(name)
		ra := s.acts.lookup(name, p)
		if ra == ActionPlain {
			readerPlainSkipped = true
			continue
		}
		attrs = append(attrs, attr{name: name, av: av, reader: ra, prefix: p})
	}
	if len(attrs) != h.n && readerPlainSkipped {
		attrs = attrs[:0]
		for name, av := range item {
			if !IsReserved(name) && !h.isStoredPlain(name) {
				attrs = append(attrs, attr{name: name, av: av, reader: s.action(name), prefix: namePrefix(name)})
			}
		}
	}
	if len(attrs) != h.n {
		return nil, res, errAttrCount(len(attrs), h.n)
	}
	if len(attrs) > 0 && &attrs[0] == &attrsArr[0] { // still on the stack
		sortLocal(&attrsArr, len(attrs))
	} else {
		sortAttrs(attrs)
	}
	for i := range attrs {
		attrs[i].act = h.action(i)
	}
	if err := s.checkSignature(st, key, &pc, attrs); err != nil {
		return nil, res, err
	}

	// Schema-drift policy (the item is authentic from here on). When
	// several attributes are refused, the error names the smallest name in
	// byte order (FORMAT.md, "Schema drift policy"): both loops run in name
	// order, so each one's first refusal is its smallest.
	var refused string
	var refusal error
	for i := range attrs {
		name, stored, reader := attrs[i].name, attrs[i].act, attrs[i].reader
		if stored == reader {
			continue
		}
		if stored == ActionSign && reader == ActionEncrypt {
			if !s.migrate {
				if refusal == nil {
					refused, refusal = name, fmt.Errorf("%w: attribute %q is stored signed in plaintext but the reader encrypts it (Config.AllowPlaintextMigration reads it for resealing)", ErrSchemaMismatch, name)
				}
				continue
			}
			res.MigrationUsed = true
		}
		res.Drift = append(res.Drift, Drift{Name: name, Stored: stored, Reader: reader, Verified: true})
	}
	for _, name := range h.plain {
		if refusal != nil && name >= refused {
			break
		}
		if _, present := item[name]; !present {
			continue
		}
		reader := s.action(name)
		if reader == ActionPlain {
			continue
		}
		if !s.migrate {
			refusal = fmt.Errorf("%w: attribute %q is stored plain (unsigned) but the reader wants it %s (Config.AllowPlaintextMigration reads it unverified)", ErrSchemaMismatch, name, reader)
			break
		}
		res.MigrationUsed = true
		res.Drift = append(res.Drift, Drift{Name: name, Stored: ActionPlain, Reader: reader})
	}
	if refusal != nil {
		return nil, res, refusal
	}
	if len(res.Drift) > 1 {
		slices.SortFunc(res.Drift, func(a, b Drift) int { return strings.Compare(a.Name, b.Name) })
	}

	if err := s.decryptCovered(st, key, attrs, true); err != nil {
		return nil, res, err
	}
	canonicalizeSigned(st.buf, attrs)
	return openedItem(item, attrs, nReserved), res, nil
}

// canonicalizeSigned puts every signed attribute of attrs that is not in
// the canonical form the signature covered into that form, and marks it
// (code 1) for openedItem. An insider can rewrite a signed "1.50" as
// "15E-1" without breaking the signature; the reader gets "1.5" either way.
// The canonical value is decoded from its encoding in the MAC input mac
// (checkSignature recorded each signed attribute's span), so sets and map
// keys are not sorted twice.
func canonicalizeSigned(mac []byte, attrs []attr) {
	for i := range attrs {
		a := &attrs[i]
		if a.act != ActionSign || isCanonicalValue(a.av) {
			continue
		}
		enc := mac[a.lo:a.hi]
		d := decoder{b: enc, str: string(enc)}
		if v, err := d.value(0); err == nil && len(d.b) == 0 {
			a.av, a.code = v, 1
		}
	}
}

// prechecked is what precheck has verified of an item: its parsed header,
// the raw header and signature bytes, and the key reference it names. The
// derived item keys are in the scratch.
type prechecked struct {
	h   header
	hdr []byte
	sig []byte
	ref KeyRef
}

// precheck runs Open's checks up to the covered set (FORMAT.md, "Open",
// steps 1-5): key, tenant, header, signature attribute, key commitment. It
// leaves the derived item keys in st.keys.
func (s *Sealer) precheck(st *scratch, item map[string]types.AttributeValue, key *Key) (prechecked, error) {
	var pc prechecked
	if err := checkKey(key); err != nil {
		return pc, err
	}
	tv, ok := item[s.tenantAttr].(*types.AttributeValueMemberS)
	if !ok {
		return pc, tamper(ReasonTenant, s.tenantAttr, "tenant attribute missing or not a string")
	}
	if tv.Value != key.Ref.Tenant {
		return pc, fmt.Errorf("%w: tenant attribute %q does not match the key's tenant", ErrWrongTenant, s.tenantAttr)
	}
	h, err := s.itemHeader(item)
	if err != nil {
		if IsUnsealed(item) {
			return pc, errNotSealed
		}
		return pc, err
	}
	pc.h = h
	pc.ref = KeyRef{Tenant: tv.Value, Class: h.class, Version: h.keyVersion}
	sv, ok := item[SignatureAttribute].(*types.AttributeValueMemberB)
	if !ok || len(sv.Value) != macSize {
		return pc, tamper(ReasonSignature, SignatureAttribute, "signature attribute missing, not binary or not 32 bytes")
	}
	pc.sig = sv.Value
	pc.hdr = item[HeaderAttribute].(*types.AttributeValueMemberB).Value

	// Key commitment, before anything else uses the derived keys.
	st.hm.deriveKeys(&st.keys, key, h.salt)
	commitOK := subtle.ConstantTimeCompare(st.keys.commit[:], h.commitment)
	if h.class != key.Ref.Class || h.keyVersion != key.Ref.Version {
		return pc, tamper(ReasonCommitment, "", fmt.Sprintf(
			"the header names key class %q version %d, but the key offered is class %q version %d",
			h.class, h.keyVersion, key.Ref.Class, key.Ref.Version))
	}
	if commitOK != 1 {
		// Same class and version, different key material: the item was
		// sealed by another tenant's key (a row moved between tenants), or
		// its header was altered.
		return pc, tamper(ReasonCommitment, "", fmt.Sprintf(
			"the item was not sealed with tenant %q's key (class %q, version %d): it was moved from another tenant, or its header was altered",
			key.Ref.Tenant, key.Ref.Class, key.Ref.Version))
	}
	return pc, nil
}

func errAttrCount(have, want int) error {
	return tamper(ReasonAttributeSet, "", fmt.Sprintf(
		"item has %d signed or encrypted attributes, header records %d (an attribute was added or removed)", have, want))
}

// checkSignature computes the MAC over attrs (sorted, actions set) with the
// item keys precheck derived, and compares it with the stored signature in
// constant time.
func (s *Sealer) checkSignature(st *scratch, key *Key, pc *prechecked, attrs []attr) error {
	var err error
	st.buf, err = s.appendMACInput(st.buf[:0], &st.enc, key.Ref.Tenant, pc.hdr, attrs)
	if err != nil {
		// A value no writer could have signed: the item was edited.
		var me *malformedError
		if errors.As(err, &me) {
			return tamper(ReasonAttribute, me.attr, "signed value is not a valid DynamoDB value: "+me.detail)
		}
		return tamper(ReasonAttribute, "", "signed value is not a valid DynamoDB value")
	}
	st.hm.mac(&st.mac, st.keys.mac[:], st.buf)
	if subtle.ConstantTimeCompare(st.mac[:], pc.sig) != 1 {
		return tamper(ReasonSignature, "", "signature does not match the item")
	}
	return nil
}

// decryptCovered authenticates and decrypts every attribute of attrs whose
// recorded action is ActionEncrypt, with the item keys in st.keys. With keep
// set it replaces each one's value with the decrypted value (one buffer for
// every plaintext, one string for every S and N value); without, it only
// checks (GCM authentication and canonical form) and wipes the plaintext.
func (s *Sealer) decryptCovered(st *scratch, key *Key, attrs []attr, keep bool) error {
	nEnc, ptLen, nS, nN := 0, 0, 0, 0
	for i := range attrs {
		a := &attrs[i]
		if a.act != ActionEncrypt {
			continue
		}
		nEnc++
		a.code = 0
		if b, ok := a.av.(*types.AttributeValueMemberB); ok && len(b.Value) >= 17 {
			a.code = b.Value[0]
			ptLen += len(b.Value) - 17
			switch a.code {
			case codeS:
				nS++
			case codeN:
				nN++
			}
		}
	}
	if nEnc == 0 {
		return nil
	}
	gcm, err := newGCM(&st.keys)
	if err != nil {
		return err
	}
	var pt []byte
	if !keep || nS+nN == nEnc {
		// Every plaintext is copied into one string below (or only
		// checked), so the pooled buffer can hold them meanwhile; it is
		// wiped when the scratch goes back to the pool.
		st.pay = slices.Grow(st.pay[:0], ptLen)[:ptLen]
		pt = st.pay
	} else {
		pt = make([]byte, ptLen)
	}
	at := 0
	nonce := st.nonce[:]
	clear(nonce)
	for i := range attrs {
		a := &attrs[i]
		if a.act != ActionEncrypt {
			continue
		}
		b, ok := a.av.(*types.AttributeValueMemberB)
		if !ok || len(b.Value) < 17 {
			return tamper(ReasonAttribute, a.name, "encrypted attribute is not binary or too short")
		}
		if a.code < codeS || a.code > codeBS {
			return tamper(ReasonAttribute, a.name, "encrypted attribute records an unknown type")
		}
		n := len(b.Value) - 17
		binary.BigEndian.PutUint32(nonce[8:], uint32(i))
		st.aad = s.appendAAD(st.aad[:0], a.code, key.Ref.Tenant, a.name)
		if _, err := gcm.Open(pt[at:at:at+n], nonce, b.Value[1:], st.aad); err != nil {
			clear(pt)
			return tamper(ReasonAttribute, a.name, "encrypted attribute failed authentication")
		}
		a.lo, a.hi = at, at+n
		at += n
	}
	// S and N values share one string; the others decode from pt.
	var strs string
	var svals []types.AttributeValueMemberS
	var nvals []types.AttributeValueMemberN
	if keep && nS+nN > 0 {
		strs = string(pt)
		svals = make([]types.AttributeValueMemberS, nS)
		nvals = make([]types.AttributeValueMemberN, nN)
	}
	is, in := 0, 0
	for i := range attrs {
		a := &attrs[i]
		if a.act != ActionEncrypt {
			continue
		}
		switch a.code {
		case codeS:
			if keep {
				svals[is].Value = strs[a.lo:a.hi]
				a.av = &svals[is]
				is++
			}
		case codeN:
			var v string
			if keep {
				v = strs[a.lo:a.hi]
			} else {
				v = string(pt[a.lo:a.hi])
			}
			if !isCanonicalNumber(v) {
				clear(pt)
				return tamper(ReasonAttribute, a.name, "decrypted number is not canonical")
			}
			if keep {
				nvals[in].Value = v
				a.av = &nvals[in]
				in++
			}
		default:
			v, err := decodePayload(a.code, pt[a.lo:a.hi:a.hi])
			if err != nil {
				clear(pt)
				return tamper(ReasonAttribute, a.name, "decrypted value is not a canonical encoding: "+err.Error())
			}
			if keep {
				a.av = v
			}
		}
	}
	return nil
}

// openedItem builds Open's output: a clone of item (no rehashing) without
// reserved attributes, the decrypted values of attrs stored in it.
func openedItem(item map[string]types.AttributeValue, attrs []attr, nReserved int) map[string]types.AttributeValue {
	out := maps.Clone(item)
	delete(out, HeaderAttribute)
	delete(out, SignatureAttribute)
	if nReserved > 2 { // other reserved names (unknown to this version)
		for name := range out {
			if IsReserved(name) {
				delete(out, name)
			}
		}
	}
	for i := range attrs {
		// Encrypted: the decrypted value; signed with code set: the
		// canonical form (canonicalizeSigned).
		if attrs[i].act == ActionEncrypt || attrs[i].code != 0 {
			out[attrs[i].name] = attrs[i].av
		}
	}
	return out
}
