package table

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Cursors.
//
// A cursor carries DynamoDB's LastEvaluatedKey to the client and back. It is
// sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the scope
// tenant's current key, with the logical table and the tenant in the HKDF
// info and the query's shape (index, partition, sort condition, direction)
// in the associated data. So a cursor:
//   - cannot be forged or edited (authentication),
//   - does not reveal the key values it holds (encryption),
//   - opens only for the same tenant, logical table and query (another
//     tenant derives another key from another tenant key),
//   - needs no shared secret between processes (every instance derives the
//     same key from the tenant key), survives key rotation (it names the key
//     version it was made with) and dies with a shredded tenant.

const cursorVersion = 1

func (s Scope[T]) cursorAEAD(key attrcrypt.Key) (cipher.AEAD, error) {
	info := lp(nil, "dynaseal/table/v1 cursor")
	info = lp(info, s.t.logical)
	info = lp(info, s.tenant)
	info = lp(info, key.Ref.Class)
	k, err := hkdf.Key(sha256.New, key.Material[:], nil, string(info), 32)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func lp(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// queryBinding is the associated data binding a cursor to one query.
func queryBinding(in *QueryInput, partition types.AttributeValue) []byte {
	ad := lp(nil, "query")
	ad = lp(ad, in.Index)
	ad = appendAV(ad, partition)
	ad = lp(ad, in.Sort.op)
	for _, v := range in.Sort.values {
		ad = appendAV(ad, v)
	}
	if in.Descending {
		ad = append(ad, 1)
	} else {
		ad = append(ad, 0)
	}
	return ad
}

func appendAV(dst []byte, v types.AttributeValue) []byte {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return lp(append(dst, 'S'), x.Value)
	case *types.AttributeValueMemberN:
		return lp(append(dst, 'N'), x.Value)
	case *types.AttributeValueMemberB:
		return lp(append(dst, 'B'), string(x.Value))
	}
	return append(dst, '?')
}

// encodeCursor seals a LastEvaluatedKey.
func (s Scope[T]) encodeCursor(ctx context.Context, last map[string]types.AttributeValue, ad []byte) (string, error) {
	if len(last) == 0 {
		return "", nil
	}
	names := make([]string, 0, len(last))
	for n := range last {
		names = append(names, n)
	}
	sort.Strings(names)
	var plain []byte
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(names)))
	for _, n := range names {
		plain = lp(plain, n)
		if !isKeyScalar(last[n]) {
			return "", errors.New("table: LastEvaluatedKey holds a non-scalar value")
		}
		plain = appendAV(plain, last[n])
	}
	key, err := s.t.currentKey(ctx, s.tenant)
	if err != nil {
		return "", fmt.Errorf("table: cursor key: %w", err)
	}
	aead, err := s.cursorAEAD(key)
	ver := key.Ref.Version
	key.Zero()
	if err != nil {
		return "", err
	}
	out := []byte{cursorVersion}
	out = binary.BigEndian.AppendUint32(out, ver)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, plain, ad)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// decodeCursor opens a cursor made by encodeCursor for the same scope and
// query; anything else is ErrInvalidCursor.
func (s Scope[T]) decodeCursor(ctx context.Context, c string, ad []byte) (map[string]types.AttributeValue, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrInvalidCursor, why) }
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) < 5+12+16 || raw[0] != cursorVersion {
		return nil, bad("malformed")
	}
	ver := binary.BigEndian.Uint32(raw[1:5])
	key, err := s.t.keyByRef(ctx, attrcrypt.KeyRef{Tenant: s.tenant, Class: s.t.class, Version: ver})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCursor, err)
	}
	aead, err := s.cursorAEAD(key)
	key.Zero()
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	plain, err := aead.Open(nil, raw[5:5+ns], raw[5+ns:], ad)
	if err != nil {
		return nil, bad("authentication failed (forged, edited, or made for another tenant, table or query)")
	}
	d := plain
	u32 := func() (int, bool) {
		if len(d) < 4 {
			return 0, false
		}
		n := int(binary.BigEndian.Uint32(d))
		d = d[4:]
		return n, true
	}
	str := func() (string, bool) {
		n, ok := u32()
		if !ok || n > len(d) {
			return "", false
		}
		s := string(d[:n])
		d = d[n:]
		return s, true
	}
	n, ok := u32()
	if !ok {
		return nil, bad("malformed")
	}
	out := make(map[string]types.AttributeValue, n)
	for range n {
		name, ok1 := str()
		if !ok1 || len(d) < 1 {
			return nil, bad("malformed")
		}
		typ := d[0]
		d = d[1:]
		val, ok2 := str()
		if !ok2 {
			return nil, bad("malformed")
		}
		switch typ {
		case 'S':
			out[name] = &types.AttributeValueMemberS{Value: val}
		case 'N':
			out[name] = &types.AttributeValueMemberN{Value: val}
		case 'B':
			out[name] = &types.AttributeValueMemberB{Value: []byte(val)}
		default:
			return nil, bad("malformed")
		}
	}
	return out, nil
}
