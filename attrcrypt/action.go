package attrcrypt

import "fmt"

// Action says what Seal does with one attribute.
type Action uint8

const (
	// ActionSign stores the attribute in plaintext and covers it with the
	// item signature. It is the default: an attribute nobody classified is
	// protected, never silently left out.
	ActionSign Action = iota
	// ActionEncrypt encrypts the attribute (AES-256-GCM) and covers the
	// ciphertext with the item signature.
	ActionEncrypt
	// ActionPlain leaves the attribute outside both encryption and the
	// signature. It must be asked for explicitly.
	ActionPlain
)

// String returns the action's tag spelling: "sign", "encrypt" or "plain".
func (a Action) String() string {
	switch a {
	case ActionSign:
		return "sign"
	case ActionEncrypt:
		return "encrypt"
	case ActionPlain:
		return "plain"
	default:
		return fmt.Sprintf("Action(%d)", uint8(a))
	}
}
