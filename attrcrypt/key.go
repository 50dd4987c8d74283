package attrcrypt

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// KeySize is the length in bytes of a tenant key's material.
const KeySize = 32

// KeyRef names one version of one tenant key. It is stored (in part) in every
// sealed item's header so that a reader knows which key opens the item; it
// never contains key material.
type KeyRef struct {
	// Tenant is the tenant the key belongs to.
	Tenant string
	// Class is the data classification the key serves ("" is the default
	// class). Keys of different classes of one tenant are unrelated.
	Class string
	// Version is the key version, starting at 1. Rotation adds a version.
	Version uint32
}

// String renders the reference for logs and errors; it holds no secret.
func (r KeyRef) String() string {
	class := r.Class
	if class == "" {
		class = "default"
	}
	return fmt.Sprintf("tenant=%q class=%q version=%d", r.Tenant, class, r.Version)
}

// Key is one version of a tenant key: its reference and 32 bytes of material.
//
// Key is a value type on purpose: copying it never shares the material, so a
// cache may zero its own copy on eviction without racing a sealer that holds
// another copy. Formatting a Key with fmt or slog, or marshalling it with
// encoding/json or as text, never prints the material, also inside slices,
// maps and structs.
type Key struct {
	Ref      KeyRef
	Material [KeySize]byte
}

// Zero overwrites the key material with zeros.
func (k *Key) Zero() {
	clear(k.Material[:])
}

// IsZero reports whether the material is all zeros (an unset key).
func (k *Key) IsZero() bool {
	var acc byte
	for _, b := range k.Material {
		acc |= b
	}
	return acc == 0
}

// String describes the key without its material.
func (k Key) String() string {
	return "attrcrypt.Key{" + k.Ref.String() + " material=[REDACTED]}"
}

// Format makes every fmt verb (%v, %+v, %#v, %s, %x ...) print the redacted
// form, so key bytes cannot reach a log line through fmt by accident.
func (k Key) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte(k.String()))
}

// LogValue keeps key material out of slog output.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("tenant", k.Ref.Tenant),
		slog.String("class", k.Ref.Class),
		slog.Uint64("version", uint64(k.Ref.Version)),
		slog.String("material", "[REDACTED]"),
	)
}

// redactedKeyJSON is the JSON form of a Key: its reference and a
// placeholder for the material.
type redactedKeyJSON struct {
	Tenant   string `json:"tenant"`
	Class    string `json:"class"`
	Version  uint32 `json:"version"`
	Material string `json:"material"`
}

// MarshalJSON renders the key reference with the material redacted, so
// encoding/json (and slog's JSONHandler, for a Key nested in a slice, map
// or struct) never prints key bytes. There is deliberately no
// UnmarshalJSON counterpart that restores material.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(redactedKeyJSON{Tenant: k.Ref.Tenant, Class: k.Ref.Class, Version: k.Ref.Version, Material: "[REDACTED]"})
}

// MarshalText renders the redacted String form (used, for example, when a
// Key is a JSON map key or an encoding.TextMarshaler is preferred).
func (k Key) MarshalText() ([]byte, error) {
	return []byte(k.String()), nil
}
