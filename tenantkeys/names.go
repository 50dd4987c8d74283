package tenantkeys

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Encryption context keys and values carried by every wrap and unwrap, in
// KMS and in the local master key wrapper alike. A KMS key policy can
// require them with condition keys such as kms:EncryptionContext:tenant.
const (
	// ContextTenant names the tenant id.
	ContextTenant = "tenant"
	// ContextClass names the key class; the default class "" is written as
	// DefaultClassLabel.
	ContextClass = "class"
	// ContextVersion names the tenant key version in decimal.
	ContextVersion = "version"
	// ContextPurpose names what the wrapped key is for; its value is
	// Purpose.
	ContextPurpose = "purpose"
	// Purpose is the value of ContextPurpose for tenant data keys.
	Purpose = "dynaseal-tenant-key"
	// DefaultClassLabel is how the default class "" appears in encryption
	// contexts and logs. It is therefore not accepted as a class name.
	DefaultClassLabel = "default"
)

// MaxTenantLen and MaxClassLen bound tenant ids and class names in bytes.
const (
	MaxTenantLen = 256
	MaxClassLen  = 64
)

// ValidateTenant checks a tenant id: 1 to MaxTenantLen bytes of valid UTF-8
// without control characters. The error wraps ErrInvalidName.
func ValidateTenant(tenant string) error {
	if tenant == "" || len(tenant) > MaxTenantLen || !utf8.ValidString(tenant) {
		return fmt.Errorf("%w: tenant id must be 1 to %d bytes of UTF-8", ErrInvalidName, MaxTenantLen)
	}
	for _, r := range tenant {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: tenant id contains a control character", ErrInvalidName)
		}
	}
	return nil
}

// ValidateClass checks a key class name: "" (the default class), a data
// class name of 1 to MaxClassLen characters from [A-Za-z0-9._-] that is
// not DefaultClassLabel and does not start with "__" (reserved), or the
// beacon class BeaconClass(c) of such a class or of "". The error wraps
// ErrInvalidName.
func ValidateClass(class string) error {
	if data, ok := DataClassOf(class); ok {
		if data == "" || validateDataClass(data) == nil {
			return nil
		}
		return fmt.Errorf("%w: beacon class %q does not name a valid data class", ErrInvalidName, class)
	}
	return validateDataClass(class)
}

func validateDataClass(class string) error {
	if class == DefaultClassLabel {
		return fmt.Errorf("%w: class %q is reserved; use \"\" for the default class", ErrInvalidName, class)
	}
	if len(class) > MaxClassLen {
		return fmt.Errorf("%w: class longer than %d bytes", ErrInvalidName, MaxClassLen)
	}
	for i := 0; i < len(class); i++ {
		c := class[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: class %q may hold only A-Z a-z 0-9 . _ -", ErrInvalidName, class)
		}
	}
	if strings.HasPrefix(class, "__") {
		return fmt.Errorf("%w: class %q: names starting with \"__\" are reserved (beacon key classes are named by BeaconClass)", ErrInvalidName, class)
	}
	return nil
}

func validateRef(ref attrcrypt.KeyRef) error {
	if err := ValidateTenant(ref.Tenant); err != nil {
		return err
	}
	if err := ValidateClass(ref.Class); err != nil {
		return err
	}
	if ref.Version == 0 {
		return fmt.Errorf("%w: key version 0 does not exist", ErrKeyNotFound)
	}
	return nil
}

// classLabel renders a class for contexts and logs.
func classLabel(class string) string {
	if class == "" {
		return DefaultClassLabel
	}
	return class
}

// EncryptionContext returns the encryption context bound to the wrapped
// form of the tenant key named by ref:
//
//	{"tenant": ref.Tenant, "class": ref.Class or "default",
//	 "version": "<ref.Version>", "purpose": "dynaseal-tenant-key"}
//
// Binding the version as well as the tenant and class means a wrapped key
// copied to another tenant, class or version fails to unwrap.
func EncryptionContext(ref attrcrypt.KeyRef) map[string]string {
	return map[string]string{
		ContextTenant:  ref.Tenant,
		ContextClass:   classLabel(ref.Class),
		ContextVersion: strconv.FormatUint(uint64(ref.Version), 10),
		ContextPurpose: Purpose,
	}
}

// BeaconClassPrefix starts the name of every beacon key class. Classes with
// this prefix hold the keys beacons and unique-value claims are derived
// from (table searchable encryption); they are not data key classes.
const BeaconClassPrefix = "__beacon"

// IsBeaconClass reports whether class is a beacon key class, the result
// of BeaconClass for some data class. Such a class holds a beacon key,
// never a data key: seal nothing with it.
func IsBeaconClass(class string) bool {
	_, ok := DataClassOf(class)
	return ok
}

// DataClassOf returns the data class whose beacon key class is class, and
// false if class has not the form of a beacon class (BeaconClassPrefix,
// or BeaconClassPrefix + "." + a non-empty name). It does not validate the
// data class; ValidateClass does.
func DataClassOf(class string) (string, bool) {
	rest, ok := strings.CutPrefix(class, BeaconClassPrefix)
	if !ok {
		return "", false
	}
	if rest == "" {
		return "", true
	}
	data, ok := strings.CutPrefix(rest, ".")
	if !ok || data == "" {
		return "", false
	}
	return data, true
}

// BeaconClass names the key class that holds the beacon key of data class
// class. A tenant's beacon key is separate from its data keys so that
// rotating the data key never changes beacons or claims; it is destroyed
// with every other key of the tenant by Shred. Admin.Create of a data
// class also creates its beacon key; Rotate and Retire refuse beacon
// classes (ErrBeaconKeyRotation).
func BeaconClass(class string) string {
	if class == "" {
		return BeaconClassPrefix
	}
	return BeaconClassPrefix + "." + class
}
