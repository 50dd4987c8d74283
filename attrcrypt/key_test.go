package attrcrypt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestKeyNeverPrintsMaterial marshals and formats a Key every way a
// program might log it, alone and nested, and looks for the material in
// every encoding a printer could use.
func TestKeyNeverPrintsMaterial(t *testing.T) {
	k := testKey("tenant-x", "pii", 3)
	kp := &k
	type wrapper struct {
		Name string
		K    Key
		P    *Key
		L    []Key
		M    map[string]Key
	}
	values := map[string]any{
		"key":          k,
		"pointer":      kp,
		"slice":        []Key{k, k},
		"slice of ptr": []*Key{kp},
		"map value":    map[string]Key{"a": k},
		"map key":      map[Key]int{k: 1},
		"struct":       wrapper{Name: "w", K: k, P: kp, L: []Key{k}, M: map[string]Key{"x": k}},
		"struct ptr":   &wrapper{K: k},
		"any slice":    []any{k, kp},
		"array":        [2]Key{k, k},
	}
	forms := func(b []byte) []string {
		return []string{
			hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			fmt.Sprint(b), fmt.Sprintf("%v", [KeySize]byte(b)), fmt.Sprintf("%#v", [KeySize]byte(b)),
			string(b[:8]), // raw bytes (json base64 is checked below)
		}
	}
	leaked := func(t *testing.T, how, out string) {
		t.Helper()
		for _, f := range forms(k.Material[:]) {
			if strings.Contains(out, f) {
				t.Fatalf("%s printed the key material: %s", how, out)
			}
		}
		// base64 (encoding/json's []byte form) and decimal bytes of [32]byte
		if strings.Contains(out, "\""+b64(k.Material[:])[:12]) || strings.Contains(out, fmt.Sprint(int(k.Material[0]))+",") {
			t.Fatalf("%s printed the key material: %s", how, out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Fatalf("%s: no redaction marker in %s", how, out)
		}
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
				leaked(t, "fmt "+verb, fmt.Sprintf(verb, v))
			}
			j, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			leaked(t, "encoding/json", string(j))
			for hname, mk := range map[string]func(*bytes.Buffer) slog.Handler{
				"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
				"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			} {
				var buf bytes.Buffer
				slog.New(mk(&buf)).Info("msg", "v", v, slog.Any("w", v), slog.Group("g", "v", v))
				leaked(t, "slog "+hname, buf.String())
			}
		})
	}
	txt, err := k.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	leaked(t, "MarshalText", string(txt))
	// The reference stays printable.
	j, _ := json.Marshal(k)
	if !strings.Contains(string(j), `"tenant":"tenant-x"`) || !strings.Contains(string(j), `"version":3`) {
		t.Fatalf("JSON form lost the reference: %s", j)
	}
	if !strings.Contains(fmt.Sprint(k.Ref), "tenant-x") {
		t.Fatal("KeyRef not printable")
	}
}

func b64(b []byte) string {
	j, _ := json.Marshal(b)
	return strings.Trim(string(j), `"`)
}
