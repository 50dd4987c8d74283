package attrcrypt

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	mrand "math/rand/v2"
	"testing"
)

// The hand-rolled HMAC/HKDF must equal the standard library's.
func TestKDFMatchesStdlib(t *testing.T) {
	for i := range 200 {
		var key Key
		rand.Read(key.Material[:])
		key.Ref = KeyRef{Tenant: string(bytes.Repeat([]byte{'t'}, 1+i%70)), Class: string(bytes.Repeat([]byte{'c'}, i%5*20)), Version: uint32(i + 1)}
		salt := make([]byte, saltSize)
		rand.Read(salt)
		var got itemKeys
		deriveKeys(&got, &key, salt)

		okm, err := hkdf.Key(sha256.New, key.Material[:], salt, kdfInfo, 96)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.enc[:], okm[:32]) || !bytes.Equal(got.mac[:], okm[32:64]) || !bytes.Equal(got.commit[:], okm[64:]) {
			t.Fatalf("case %d: derived keys differ from crypto/hkdf", i)
		}

		msg := make([]byte, mrand.IntN(3000))
		rand.Read(msg)
		var mac [32]byte
		computeMAC(&mac, got.mac[:], msg)
		h := hmac.New(sha256.New, got.mac[:])
		h.Write(msg)
		if !hmac.Equal(mac[:], h.Sum(nil)) {
			t.Fatalf("case %d: MAC differs from crypto/hmac", i)
		}
	}
}
