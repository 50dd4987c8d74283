package attrcrypt

import (
	"crypto/subtle"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Recorded actions.
//
// Every sealed item's header records the action each covered attribute was
// sealed with and the names its writer marked plain. The methods below work
// from that record alone, not from the Sealer's Config.Actions: they serve
// callers that hold no Go type for the item (resealing after a key
// rotation, export, stream readers, operations tools) and must never drop
// or reclassify an attribute a newer writer added. Of the Sealer's
// configuration they use only the table name and the tenant attribute;
// there is no drift policy, since there is no reader schema to drift from.
//
// Under recorded actions the covered set is: every attribute of the item
// except the reserved ones and the header's writer-plain names. It must
// have exactly the count the header records (ErrTampered, attribute-set,
// otherwise): an attribute added by a writer outside dynaseal whose name is
// not in the writer-plain list is indistinguishable from an injected one.

// verifyRecorded runs Open's checks under the recorded actions, up to and
// including the signature: key, tenant, header, key commitment, covered
// set, signature. It returns the covered attributes, sorted, with the
// recorded actions (attrs aliases attrsArr when they fit) and the number of
// reserved attributes seen. The item keys are left in st.keys.
func (s *Sealer) verifyRecorded(st *scratch, item map[string]types.AttributeValue, key *Key, attrsArr *[stackAttrs]attr) ([]attr, prechecked, int, error) {
	pc, err := s.precheck(st, item, key)
	if err != nil {
		return nil, pc, 0, err
	}
	h := &pc.h
	attrs := attrBuf(attrsArr, item)
	nReserved := 0
	for name, av := range item {
		if IsReserved(name) {
			nReserved++
			continue
		}
		if h.isStoredPlain(name) {
			continue
		}
		if len(attrs) == h.n { // one more than recorded: no need to go on
			return nil, pc, 0, errAttrCount(h.n+1, h.n)
		}
		attrs = append(attrs, attr{name: name, av: av, prefix: namePrefix(name)})
	}
	if len(attrs) != h.n {
		return nil, pc, 0, errAttrCount(len(attrs), h.n)
	}
	sortAttrs(attrs)
	for i := range attrs {
		attrs[i].act = h.action(i)
		attrs[i].reader = attrs[i].act
	}
	if err := s.checkSignature(st, key, &pc, attrs); err != nil {
		return nil, pc, 0, err
	}
	return attrs, pc, nReserved, nil
}

// Verify fully verifies a stored item under key using the actions recorded
// in its header, and returns nil when the item is authentic. It checks, in
// Open's order: the key is usable (ErrInvalidKey); the tenant attribute is
// an S equal to key.Ref.Tenant (ErrWrongTenant); the header parses; the
// signature attribute is 32 bytes; the header names key.Ref's class and
// version and its commitment matches the key (constant time); the covered
// set has the recorded count; the signature matches (constant time); and
// every encrypted attribute passes AES-GCM authentication and decrypts to a
// canonical payload. Plaintext is decrypted into a pooled buffer, checked
// and wiped; none is returned. (Checking an encrypted document or set
// decodes it, and those transient copies are left to the garbage
// collector, as Open's are.) Attributes in the writer-plain list are not
// covered by anything and are not checked. Every failure caused by the
// item's bytes is ErrTampered with a *TamperError.
func (s *Sealer) Verify(stored map[string]types.AttributeValue, key Key) error {
	st := getScratch()
	defer putScratch(st)
	var attrsArr [stackAttrs]attr
	attrs, _, _, err := s.verifyRecorded(st, stored, &key, &attrsArr)
	if err != nil {
		return err
	}
	return s.decryptCovered(st, &key, attrs, false)
}

// OpenRecorded is Open under the actions recorded in the item's header
// instead of the Sealer's Config.Actions: it verifies the item as Verify
// does and returns it decrypted, without the reserved attributes, as a new
// map. Signed values come back in canonical form, as from Open; the
// writer-plain attributes are returned as stored (unverified, as their
// writer asked). It is for readers that
// have no Go type for the item: export, stream consumers, admin tools.
func (s *Sealer) OpenRecorded(stored map[string]types.AttributeValue, key Key) (map[string]types.AttributeValue, error) {
	st := getScratch()
	defer putScratch(st)
	var attrsArr [stackAttrs]attr
	attrs, _, nReserved, err := s.verifyRecorded(st, stored, &key, &attrsArr)
	if err != nil {
		return nil, err
	}
	if err := s.decryptCovered(st, &key, attrs, true); err != nil {
		return nil, err
	}
	canonicalizeSigned(st.buf, attrs)
	return openedItem(stored, attrs, nReserved), nil
}

// Reseal verifies stored under oldKey with the actions recorded in its
// header (as Verify, with the same errors) and returns it sealed under
// newKey with exactly those actions, attribute for attribute: encrypted
// attributes are re-encrypted, signed ones stay signed, and everything
// outside the covered set (the writer-plain attributes and reserved names
// this version does not know) is carried unchanged. The new header records
// the same writer-plain list. Every attribute of stored is in the output;
// stored is not modified. A new salt is drawn, so resealing under the same
// key also gives fresh item keys.
//
// newKey must be usable (ErrInvalidKey) and belong to the item's tenant
// (ErrWrongTenant). Use it to move items to a new key version without the
// application's Go type, so no attribute a newer writer added is lost.
func (s *Sealer) Reseal(stored map[string]types.AttributeValue, oldKey, newKey Key) (map[string]types.AttributeValue, error) {
	if err := checkKey(&newKey); err != nil {
		return nil, err
	}
	st := getScratch()
	defer putScratch(st)
	var attrsArr [stackAttrs]attr
	attrs, pc, _, err := s.verifyRecorded(st, stored, &oldKey, &attrsArr)
	if err != nil {
		return nil, err
	}
	if newKey.Ref.Tenant != pc.ref.Tenant {
		return nil, fmt.Errorf("%w: tenant attribute %q does not match the new key's tenant", ErrWrongTenant, s.tenantAttr)
	}
	if err := s.decryptCovered(st, &oldKey, attrs, true); err != nil {
		return nil, err
	}
	// The plaintexts now live in attrs; the pooled buffer is reused for
	// the new payloads.
	clear(st.pay)
	st.pay = st.pay[:0]
	return s.sealCovered(st, stored, &newKey, attrs, pc.h.plainRaw, false)
}

// CommitsTo reports whether the commitment in stored's header matches the
// one derived from key's material and the header's salt, ignoring the key
// class and version the header names and everything else in the item. The
// comparison is constant time. It is false for an unusable key or a header
// that does not parse.
//
// The table layer uses it on an error path: an item whose header names a
// shredded, retired or missing key version but commits to a live key was
// edited (its key reference was changed), and is reported as tampered
// rather than as a key in that state. A true result authenticates nothing
// else; only Open, OpenRecorded or Verify do.
func (s *Sealer) CommitsTo(stored map[string]types.AttributeValue, key Key) bool {
	if checkKey(&key) != nil {
		return false
	}
	hv, ok := stored[HeaderAttribute].(*types.AttributeValueMemberB)
	if !ok {
		return false
	}
	h, err := parseHeader(hv.Value)
	if err != nil {
		return false
	}
	st := getScratch()
	defer putScratch(st) // zeroes the derived keys
	st.hm.deriveKeys(&st.keys, &key, h.salt)
	return subtle.ConstantTimeCompare(st.keys.commit[:], h.commitment) == 1
}
