package attrcrypt

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// kdfLabel starts the HKDF info string; FORMAT.md, "Key derivation".
const kdfLabel = "dynaseal/attrcrypt/v1 item keys"

// itemKeys are the per-item secrets derived from the tenant key and the salt.
type itemKeys struct {
	enc    [32]byte // AES-256-GCM key
	mac    [32]byte // HMAC-SHA256 key
	commit [32]byte // key commitment stored in the header
}

func (k *itemKeys) zero() { clear(k.enc[:]); clear(k.mac[:]); clear(k.commit[:]) }

// deriveKeys computes
//
//	OKM = HKDF-SHA256(IKM = key material, salt, info, 96)
//	info = kdfLabel ‖ 0x00 ‖ version ‖ lp(tenant) ‖ lp(class) ‖ u32(keyVersion)
//
// and splits OKM into the encryption key, the MAC key and the commitment.
func deriveKeys(out *itemKeys, key *Key, salt []byte) error {
	var infoBuf [128]byte
	info := append(infoBuf[:0], kdfLabel...)
	info = append(info, 0, FormatVersion)
	info = appendLPString(info, key.Ref.Tenant)
	info = appendLPString(info, key.Ref.Class)
	info = binary.BigEndian.AppendUint32(info, key.Ref.Version)
	okm, err := hkdf.Key(sha256.New, key.Material[:], salt, string(info), 96)
	if err != nil {
		return err
	}
	copy(out.enc[:], okm[0:32])
	copy(out.mac[:], okm[32:64])
	copy(out.commit[:], okm[64:96])
	clear(okm)
	return nil
}

// computeMAC returns HMAC-SHA256(macKey, input) into dst.
func computeMAC(dst *[macSize]byte, macKey []byte, input []byte) {
	h := hmac.New(sha256.New, macKey)
	h.Write(input)
	h.Sum(dst[:0])
}
